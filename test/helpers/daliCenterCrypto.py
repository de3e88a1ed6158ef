"""An independent implementation of the DALI Center discovery crypto, for the TypeScript tests.

Written from the protocol notes (shared/research/dali_center.md section 2.2), not from any source code:
AES-128 in CTR mode, IV = the ASCII text "0000000000101111", SR_KEY = "SR-DALI-GW-HASYS", ciphertexts
as lower-case hex, two layers for the command word. Uses Python's `cryptography` package (OpenSSL),
another AES than Node's. Reads one JSON request per line on stdin, writes one JSON answer per line.
"""
import json
import sys

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

IV = b"0000000000101111"
SR_KEY = "SR-DALI-GW-HASYS"


def ctr(key: str, data: bytes) -> bytes:
    cipher = Cipher(algorithms.AES(key.encode("ascii")), modes.CTR(IV))
    encryptor = cipher.encryptor()
    return encryptor.update(data) + encryptor.finalize()


def encrypt_hex(text: str, key: str = SR_KEY) -> str:
    return ctr(key, text.encode("utf-8")).hex()


def decrypt_hex(hex_text: str, key: str = SR_KEY) -> str:
    return ctr(key, bytes.fromhex(hex_text)).decode("utf-8")


def handle(request: dict) -> dict:
    op = request["op"]
    if op == "decrypt_discovery":
        # What the gateway does with a client's datagram.
        message = json.loads(request["datagram"])
        outer = decrypt_hex(message["cmd"])
        inner_key, inner_hex = outer[:16], outer[16:]
        return {"word": decrypt_hex(inner_hex, inner_key), "type": message.get("type"), "snList": message.get("snList")}
    if op == "gateway_reply":
        # A reply as a gateway would send it while its button is pressed.
        data = dict(request["data"])
        data["username"] = encrypt_hex(data["username"])
        data["passwd"] = encrypt_hex(data["passwd"])
        return {"datagram": json.dumps({"data": data})}
    if op == "two_layer":
        return {"cmd": encrypt_hex(request["inner_key"] + encrypt_hex(request["word"], request["inner_key"]))}
    raise ValueError(op)


for line in sys.stdin:
    print(json.dumps(handle(json.loads(line))), flush=True)
