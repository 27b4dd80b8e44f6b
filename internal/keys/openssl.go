//go:build cgo && openssl

package keys

/*
#cgo LDFLAGS: -lcrypto
#include <stdio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

// OpenSSL's error queue is per thread and a goroutine may move to another
// thread between two cgo calls, so every function that can fail describes
// its error into err itself.
static void entrance_error(char *err, size_t errlen) {
	unsigned long e = ERR_peek_last_error();
	if (e == 0) {
		snprintf(err, errlen, "unknown error");
	} else {
		ERR_error_string_n(e, err, errlen);
	}
	ERR_clear_error();
}

// entrance_load_key parses a PKCS#1 DER RSA private key.
static EVP_PKEY *entrance_load_key(const unsigned char *der, long len, char *err, size_t errlen) {
	const unsigned char *p = der;
	ERR_clear_error();
	EVP_PKEY *pkey = d2i_PrivateKey(EVP_PKEY_RSA, NULL, &p, len);
	if (pkey == NULL) {
		entrance_error(err, errlen);
	}
	return pkey;
}

// entrance_new_ctx returns a context set up once for any number of
// EVP_PKEY_sign calls: RSASSA-PKCS1-v1_5 over a SHA-256 digest.
static EVP_PKEY_CTX *entrance_new_ctx(EVP_PKEY *pkey, char *err, size_t errlen) {
	ERR_clear_error();
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
	if (ctx != NULL &&
	    EVP_PKEY_sign_init(ctx) > 0 &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
	    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) > 0) {
		return ctx;
	}
	entrance_error(err, errlen);
	EVP_PKEY_CTX_free(ctx);
	return NULL;
}

static int entrance_sign(EVP_PKEY_CTX *ctx, const unsigned char *digest, size_t dlen,
                         unsigned char *sig, size_t *siglen, char *err, size_t errlen) {
	ERR_clear_error();
	if (EVP_PKEY_sign(ctx, sig, siglen, digest, dlen) <= 0) {
		entrance_error(err, errlen);
		return 0;
	}
	return 1;
}

static int entrance_key_size(EVP_PKEY *pkey) { return EVP_PKEY_size(pkey); }
static const char *entrance_version(void) { return OpenSSL_version(OPENSSL_VERSION); }
*/
import "C"

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"unsafe"
)

// OpenSSLBuiltIn reports whether this binary has the OpenSSL signer (cgo and
// the openssl build tag).
const OpenSSLBuiltIn = true

// OpenSSLVersion is the version of the libcrypto the binary runs with.
func OpenSSLVersion() string { return C.GoString(C.entrance_version()) }

// maxIdleCtx bounds the contexts kept for reuse; more goroutines than that
// signing at once make and free their own.
const maxIdleCtx = 64

// NewOpenSSLSigner returns a Signer backed by the system's libcrypto. The key
// is handed to OpenSSL as DER in memory only (it stays sealed at rest); the
// DER copy is wiped at once. OpenSSL's memory is freed when the Signer is
// garbage collected. It signs once before returning and checks the signature
// with crypto/rsa, so a broken library fails here rather than in tokens.
func NewOpenSSLSigner(key *rsa.PrivateKey) (Signer, error) {
	der := x509.MarshalPKCS1PrivateKey(key)
	var e errBuf
	pkey := C.entrance_load_key((*C.uchar)(unsafe.Pointer(&der[0])), C.long(len(der)), &e[0], C.size_t(len(e)))
	clear(der)
	if pkey == nil {
		return nil, fmt.Errorf("openssl: load RSA key: %s", e.String())
	}
	k := &opensslKey{pkey: pkey, size: int(C.entrance_key_size(pkey))}
	s := &opensslSigner{k: k}
	runtime.AddCleanup(s, (*opensslKey).free, k)

	digest := sha256.Sum256([]byte("entrance openssl self-check"))
	sig, err := s.SignPKCS1v15SHA256(digest[:])
	if err != nil {
		return nil, err
	}
	if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
		return nil, fmt.Errorf("openssl: self-check signature does not verify: %w", err)
	}
	return s, nil
}

// opensslSigner is what callers hold; when it becomes unreachable the
// cleanup frees its opensslKey (which holds no pointer back to it).
type opensslSigner struct{ k *opensslKey }

func (s *opensslSigner) SignPKCS1v15SHA256(digest []byte) ([]byte, error) {
	sig, err := s.k.sign(digest)
	runtime.KeepAlive(s) // no cleanup while OpenSSL is using the key
	return sig, err
}

// opensslKey owns the EVP_PKEY and a pool of contexts prepared for signing.
// A context serves one goroutine at a time; the key itself is shared
// read-only between them, which OpenSSL allows.
type opensslKey struct {
	pkey *C.EVP_PKEY
	size int

	mu    sync.Mutex
	idle  []*C.EVP_PKEY_CTX
	freed bool
}

func (k *opensslKey) sign(digest []byte) ([]byte, error) {
	if len(digest) != sha256.Size {
		return nil, fmt.Errorf("openssl: digest is %d bytes, want %d", len(digest), sha256.Size)
	}
	ctx, err := k.take()
	if err != nil {
		return nil, err
	}
	sig := make([]byte, k.size)
	n := C.size_t(len(sig))
	var e errBuf
	if C.entrance_sign(ctx, (*C.uchar)(unsafe.Pointer(&digest[0])), C.size_t(len(digest)),
		(*C.uchar)(unsafe.Pointer(&sig[0])), &n, &e[0], C.size_t(len(e))) == 0 {
		C.EVP_PKEY_CTX_free(ctx) // not reused after a failure
		return nil, fmt.Errorf("openssl: sign: %s", e.String())
	}
	k.put(ctx)
	return sig[:n], nil
}

// take returns an idle context or makes one. Making one happens under the
// lock so that it never races with free (it needs the key).
func (k *opensslKey) take() (*C.EVP_PKEY_CTX, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.freed {
		return nil, errors.New("openssl: signer used after it was freed")
	}
	if n := len(k.idle); n > 0 {
		ctx := k.idle[n-1]
		k.idle = k.idle[:n-1]
		return ctx, nil
	}
	var e errBuf
	ctx := C.entrance_new_ctx(k.pkey, &e[0], C.size_t(len(e)))
	if ctx == nil {
		return nil, fmt.Errorf("openssl: signing context: %s", e.String())
	}
	return ctx, nil
}

func (k *opensslKey) put(ctx *C.EVP_PKEY_CTX) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.freed || len(k.idle) >= maxIdleCtx {
		C.EVP_PKEY_CTX_free(ctx)
		return
	}
	k.idle = append(k.idle, ctx)
}

// free releases the contexts and the key (EVP_PKEY_free wipes the key's
// numbers). A context still in use keeps its own reference to the key.
func (k *opensslKey) free() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.freed {
		return
	}
	k.freed = true
	for _, ctx := range k.idle {
		C.EVP_PKEY_CTX_free(ctx)
	}
	k.idle = nil
	C.EVP_PKEY_free(k.pkey)
}

// errBuf receives an OpenSSL error description.
type errBuf [256]C.char

func (e *errBuf) String() string { return C.GoString(&e[0]) }
