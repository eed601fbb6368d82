#!/usr/bin/env python3
"""natlab's NAT probe: classifies a real NAT's mapping and filtering (RFC 4787).

  probe.py server IP PORT         answer probes on PORT and PORT+1 of IP
  probe.py client S1 S2 S3        classify the NAT in front of this host, using
                                  three probe servers (IP:PORT) on different IPs

The client sends from one socket to S1 and S2 and compares the source
addresses they saw (mapping: EIM if equal, EDM if not). Then it asks S1 to
answer from its other port (address-dependent filtering lets that through),
and S1 asks S3, which the client never contacted, to send to the mapping
(endpoint-independent filtering lets that through). It prints one line:

  mapping=EIM|EDM|none filtering=EIF|ADF|APDF|none observed=IP:PORT

("none" when the observed address is the client's own: no NAT.)
"""
import socket
import sys


def addr(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


def server(ip, port):
    main = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    main.bind((ip, port))
    alt = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    alt.bind((ip, port + 1))
    while True:
        data, src = main.recvfrom(2048)
        words = data.decode(errors="replace").split()
        if not words:
            continue
        if words[0] == "probe":
            main.sendto(f"seen {src[0]}:{src[1]}".encode(), src)
        elif words[0] == "alt":  # answer from the other port of this IP
            alt.sendto(b"alt", src)
        elif words[0] == "relay" and len(words) == 2:  # ask another server to send to the prober
            main.sendto(f"send {src[0]}:{src[1]}".encode(), addr(words[1]))
        elif words[0] == "send" and len(words) == 2:
            main.sendto(b"other", addr(words[1]))


def client(s1, s2, s3):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", 0))
    sock.settimeout(0.5)

    def ask(to, message, expect, tries=3):
        for _ in range(tries):
            sock.sendto(message.encode(), to)
            try:
                while True:
                    data, _src = sock.recvfrom(2048)
                    text = data.decode(errors="replace")
                    if text.startswith(expect):
                        return text
            except socket.timeout:
                continue
        return None

    seen1 = ask(s1, "probe", "seen")
    seen2 = ask(s2, "probe", "seen")
    if not seen1 or not seen2:
        print("error=no-answer")
        return 1
    o1, o2 = seen1.split()[1], seen2.split()[1]
    local_ip = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    local_ip.connect(s1)
    own = f"{local_ip.getsockname()[0]}:{sock.getsockname()[1]}"
    if o1 == own:
        print(f"mapping=none filtering=none observed={o1}")
        return 0
    mapping = "EIM" if o1 == o2 else "EDM"
    # Filtering, loosest first: a stranger's datagram (EIF), then one from a known IP's other port (ADF).
    if ask(s1, f"relay {s3[0]}:{s3[1]}", "other", tries=2):
        filtering = "EIF"
    elif ask(s1, "alt", "alt", tries=2):
        filtering = "ADF"
    else:
        filtering = "APDF"
    print(f"mapping={mapping} filtering={filtering} observed={o1}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "server":
        server(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 5 and sys.argv[1] == "client":
        sys.exit(client(addr(sys.argv[2]), addr(sys.argv[3]), addr(sys.argv[4])))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
