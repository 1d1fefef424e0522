"""Legacy-crypto advisories: an informational rule family that never changes a verdict.

bastion's own policy is "crypto only through PyCA ``cryptography``". These advisories point
publishers at the same move: APIs that pyOpenSSL itself has deprecated or removed (from its
changelog: CRL/Revoked/sign/verify removed in 24.3.0; PKCS12, PKCS7, NetscapeSPKI, X509Req,
X509Extension, ``OpenSSL.rand``, the elliptic-curve helpers deprecated along the way), and the
unmaintained M2Crypto and PyCrypto (``Crypto.*`` imports, unless the code shows pycryptodome's
markers: ``Cryptodome``, AEAD modes, ``Crypto.Util.Padding``, ...).
"""

from __future__ import annotations

from bastion.scanning.result import Finding, Severity
from bastion.scanning.rules.pyfacts import PyFacts

# qualified name -> the cryptography API to use instead
OPENSSL_DEPRECATED: dict[str, str] = {
    "OpenSSL.crypto.CRL": "cryptography.x509.CertificateRevocationListBuilder and "
    "cryptography.x509.load_pem_x509_crl",
    "OpenSSL.crypto.Revoked": "cryptography.x509.RevokedCertificateBuilder",
    "OpenSSL.crypto.load_crl": "cryptography.x509.load_pem_x509_crl / load_der_x509_crl",
    "OpenSSL.crypto.dump_crl": "CertificateRevocationList.public_bytes()",
    "OpenSSL.crypto.sign": "the private key's sign() method from "
    "cryptography.hazmat.primitives.asymmetric",
    "OpenSSL.crypto.verify": "the public key's verify() method from "
    "cryptography.hazmat.primitives.asymmetric",
    "OpenSSL.crypto.PKCS12": "cryptography.hazmat.primitives.serialization.pkcs12",
    "OpenSSL.crypto.load_pkcs12": "cryptography.hazmat.primitives.serialization.pkcs12."
    "load_key_and_certificates",
    "OpenSSL.crypto.PKCS7": "cryptography.hazmat.primitives.serialization.pkcs7",
    "OpenSSL.crypto.load_pkcs7_data": "cryptography.hazmat.primitives.serialization.pkcs7."
    "load_pem_pkcs7_certificates",
    "OpenSSL.crypto.NetscapeSPKI": "cryptography.x509 (SPKAC has no modern use; issue CSRs)",
    "OpenSSL.crypto.X509Req": "cryptography.x509.CertificateSigningRequestBuilder",
    "OpenSSL.crypto.load_certificate_request": "cryptography.x509.load_pem_x509_csr",
    "OpenSSL.crypto.dump_certificate_request": "CertificateSigningRequest.public_bytes()",
    "OpenSSL.crypto.X509Extension": "cryptography.x509 extension classes with "
    "CertificateBuilder.add_extension()",
    "OpenSSL.crypto.get_elliptic_curves": "the curves in "
    "cryptography.hazmat.primitives.asymmetric.ec",
    "OpenSSL.crypto.get_elliptic_curve": "the curves in "
    "cryptography.hazmat.primitives.asymmetric.ec",
    "OpenSSL.crypto.PKey": "cryptography private-key objects "
    "(cryptography.hazmat.primitives.asymmetric.rsa/ec/ed25519)",
    "OpenSSL.crypto.X509": "cryptography.x509.Certificate and CertificateBuilder",
    "OpenSSL.crypto.load_privatekey": "cryptography.hazmat.primitives.serialization."
    "load_pem_private_key",
    "OpenSSL.crypto.dump_privatekey": "private_key.private_bytes()",
    "OpenSSL.crypto.load_publickey": "cryptography.hazmat.primitives.serialization."
    "load_pem_public_key",
    "OpenSSL.crypto.load_certificate": "cryptography.x509.load_pem_x509_certificate",
    "OpenSSL.crypto.dump_certificate": "Certificate.public_bytes()",
    "OpenSSL.rand": "os.urandom() or the secrets module",
}
PYCRYPTODOME_MARKERS = (
    "Cryptodome",
    "Crypto.Util.Padding",
    "Crypto.Cipher.ChaCha20",
    "Crypto.Protocol.KDF",
    "Crypto.Cipher.Salsa20",
    "Crypto.Hash.SHA3",
    "Crypto.Hash.BLAKE2",
    "Crypto.PublicKey.ECC",
    "Crypto.Signature.pss",
    "Crypto.Signature.pkcs1_15",
    "Crypto.Signature.eddsa",
    "Crypto.Signature.DSS",
    "Crypto.Hash.keccak",
)
PYCRYPTO_REPLACEMENTS: dict[str, str] = {
    "Crypto.Cipher": "cryptography.hazmat.primitives.ciphers (AESGCM from "
    "cryptography.hazmat.primitives.ciphers.aead for authenticated encryption)",
    "Crypto.PublicKey": "cryptography.hazmat.primitives.asymmetric (rsa, ec, ed25519)",
    "Crypto.Signature": "the sign()/verify() methods of cryptography's asymmetric keys",
    "Crypto.Hash": "hashlib or cryptography.hazmat.primitives.hashes",
    "Crypto.Random": "os.urandom() or the secrets module",
    "Crypto.Protocol": "cryptography.hazmat.primitives.kdf",
    "Crypto.Util": "cryptography.hazmat.primitives.padding",
}


def _advice(rule: str, message: str, path: str, line: int | None) -> Finding:
    return Finding(rule, Severity.INFO, message, path, line, None, advisory=True)


def legacy_crypto_findings(
    py: PyFacts, path: str, metadata: list[str] | None = None
) -> list[Finding]:
    """Advisories for one analysed Python file."""
    out: list[Finding] = []
    seen: set[str] = set()
    for qual, lines in py.calls.items():
        for api, instead in OPENSSL_DEPRECATED.items():
            if (qual == api or qual.startswith(api + ".")) and api not in seen:
                seen.add(api)
                out.append(
                    _advice(
                        "legacy-crypto-pyopenssl",
                        f"Uses {api}, which pyOpenSSL has deprecated or removed; use {instead} "
                        "instead.",
                        path,
                        lines[0],
                    )
                )
    if "OpenSSL.rand" not in seen and any(
        i == "OpenSSL.rand" or i.startswith("OpenSSL.rand.") for i in py.imports
    ):
        out.append(
            _advice(
                "legacy-crypto-pyopenssl",
                "Uses OpenSSL.rand, deprecated by pyOpenSSL; use "
                "os.urandom() or the secrets module instead.",
                path,
                None,
            )
        )
    if any(i == "M2Crypto" or i.startswith("M2Crypto.") for i in py.imports):
        out.append(
            _advice(
                "legacy-crypto-m2crypto",
                "Uses M2Crypto, a legacy OpenSSL binding; use PyCA cryptography instead "
                "(cryptography.x509 for certificates, cryptography.hazmat.primitives for keys, "
                "ciphers and signatures, the ssl module for TLS).",
                path,
                None,
            )
        )
    crypto_imports = sorted(i for i in py.imports if i == "Crypto" or i.startswith("Crypto."))
    if crypto_imports:
        meta = "\n".join(metadata or []).lower()
        markers = (
            any(i.startswith(PYCRYPTODOME_MARKERS) for i in py.imports)
            or any(
                q.startswith(PYCRYPTODOME_MARKERS)
                or q.endswith(("MODE_GCM", "MODE_EAX", "MODE_SIV"))
                for q in py.calls
            )
            or "pycryptodome" in meta
        )
        if not markers:
            first = crypto_imports[0]
            family = ".".join(first.split(".")[:2])
            instead = PYCRYPTO_REPLACEMENTS.get(family, "PyCA cryptography")
            out.append(
                _advice(
                    "legacy-crypto-pycrypto",
                    f"Imports {first} from PyCrypto, unmaintained since 2013 with known "
                    f"vulnerabilities; use {instead} instead.",
                    path,
                    None,
                )
            )
    return out
