#!/usr/bin/env python3
"""meshkit's secure transport against dissononce, a Noise implementation nobody here wrote.

Both directions over real UDP on 127.0.0.1: dissononce as initiator against
`meshkit_noise_peer echo`, and as responder to `meshkit_noise_peer dial`.
Speaks meshkit's frames (docs/security.md): 0x01 init (16-byte cookie,
Noise message 1 with 96 bytes of padding), 0x02 response, 0x03 finish,
0x04 data (u64 counter, little-endian, then ChaChaPoly at that nonce with
the 9-byte header as associated data). Handshake payloads are node ids:
Ed25519 public keys whose X25519 form must be the Noise static key.

Usage: noise_interop.py PATH/TO/meshkit_noise_peer
"""
import hashlib
import os
import socket
import struct
import subprocess
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from dissononce.cipher.chachapoly import ChaChaPolyCipher
from dissononce.dh.x25519.private import PrivateKey
from dissononce.dh.x25519.x25519 import X25519DH
from dissononce.hash.sha256 import SHA256Hash
from dissononce.processing.handshakepatterns.interactive.XX import XXHandshakePattern
from dissononce.processing.impl.cipherstate import CipherState
from dissononce.processing.impl.handshakestate import HandshakeState
from dissononce.processing.impl.symmetricstate import SymmetricState

PROLOGUE = b"meshkit-secure/1"
P = 2**255 - 19


def ed25519_to_x25519_public(pk: bytes) -> bytes:
    """The birational map from Edwards y to Montgomery u: u = (1 + y) / (1 - y) mod p."""
    y = int.from_bytes(pk, "little") & ((1 << 255) - 1)
    u = (1 + y) * pow(1 - y, P - 2, P) % P
    return u.to_bytes(32, "little")


class Identity:
    def __init__(self):
        seed = os.urandom(32)
        self.id = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        # An Ed25519 secret scalar is the first half of SHA-512(seed); X25519 clamps it the same way.
        self.keypair = X25519DH().generate_keypair(PrivateKey(hashlib.sha512(seed).digest()[:32]))
        assert self.keypair.public.data == ed25519_to_x25519_public(self.id), "key conversion disagrees"


def new_handshake(identity, initiator):
    hs = HandshakeState(SymmetricState(CipherState(ChaChaPolyCipher()), SHA256Hash()), X25519DH())
    hs.initialize(XXHandshakePattern(), initiator, PROLOGUE, s=identity.keypair)
    return hs


def check_peer_id(hs, payload):
    assert len(payload) == 32, "handshake payload is the node id"
    assert ed25519_to_x25519_public(bytes(payload)) == hs.rs.data, "node id does not match the proven static key"
    return bytes(payload)


def seal(cs, counter, plaintext):
    header = b"\x04" + struct.pack("<Q", counter)
    cs.set_nonce(counter)
    return header + cs.encrypt_with_ad(header, plaintext)


def open_frame(cs, frame):
    assert frame[0] == 4, "expected a data frame, got type %d" % frame[0]
    header, sealed = frame[:9], frame[9:]
    cs.set_nonce(struct.unpack("<Q", header[1:])[0])
    return cs.decrypt_with_ad(header, sealed)


def recv_data(sock, cs):
    """The next data frame with a payload (an empty one is the responder's 'I hold the session')."""
    while True:
        frame, _ = sock.recvfrom(2048)
        if frame[0] != 4:
            continue
        plaintext = open_frame(cs, frame)
        if plaintext:
            return plaintext


def as_initiator(peer_binary):
    me = Identity()
    proc = subprocess.Popen([peer_binary, "echo"], stdout=subprocess.PIPE, text=True)
    port, meshkit_id = proc.stdout.readline().split()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(10)
    target = ("127.0.0.1", int(port))
    hs = new_handshake(me, True)
    msg1 = bytearray()
    hs.write_message(b"\x00" * 96, msg1)
    sock.sendto(b"\x01" + b"\x00" * 16 + bytes(msg1), target)
    frame, _ = sock.recvfrom(2048)
    assert frame[0] == 2 and len(frame) <= 1 + 16 + len(msg1), "response larger than the init"
    payload = bytearray()
    hs.read_message(frame[1:], payload)
    assert check_peer_id(hs, payload).hex() == meshkit_id, "meshkit proved another id than it printed"
    msg3 = bytearray()
    tx, rx = hs.write_message(me.id, msg3)
    sock.sendto(b"\x03" + bytes(msg3), target)
    for counter, text in enumerate([b"first from dissononce", b"second", b"\xff\x00 binary \x80"]):
        sock.sendto(seal(tx, counter, text), target)
        reply = recv_data(sock, rx)
        assert reply == b"echo:" + text, reply
    # A replayed frame is never echoed: the next answer is to the next message.
    replay = seal(tx, 1, b"second")
    sock.sendto(replay, target)
    sock.sendto(seal(tx, 3, b"after the replay"), target)
    assert recv_data(sock, rx) == b"echo:after the replay"
    sock.sendto(seal(tx, 4, b"bye"), target)
    assert proc.wait(timeout=10) == 0
    print("dissononce initiator -> meshkit responder: 4 messages echoed, replay refused")


def as_responder(peer_binary):
    me = Identity()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(10)
    port = sock.getsockname()[1]
    proc = subprocess.Popen([peer_binary, "dial", str(port), me.id.hex()], stdout=subprocess.PIPE, text=True)
    frame, source = sock.recvfrom(2048)
    assert frame[0] == 1 and len(frame) == 145, "init frame"
    hs = new_handshake(me, False)
    hs.read_message(frame[17:], bytearray())
    msg2 = bytearray()
    hs.write_message(me.id, msg2)
    assert 1 + len(msg2) <= len(frame)
    sock.sendto(b"\x02" + bytes(msg2), source)
    while True:
        frame, source = sock.recvfrom(2048)
        if frame[0] == 3:
            break
    payload = bytearray()
    rx, tx = hs.read_message(frame[1:], payload)  # the responder receives on the first cipher
    check_peer_id(hs, payload)
    hello = recv_data(sock, rx)
    assert hello == b"hello from meshkit", hello
    sock.sendto(seal(tx, 0, b"echo:" + hello), source)
    out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0, out
    assert out.strip() == "echo:hello from meshkit", out
    print("meshkit initiator -> dissononce responder: handshake, hello and answer")


if __name__ == "__main__":
    as_initiator(sys.argv[1])
    as_responder(sys.argv[1])
