package ebaytest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"

	// The digests a signature header may name.
	_ "crypto/sha1"
	_ "crypto/sha256"
	_ "crypto/sha512"
)

// PublicKey is a getPublicKey answer.
type PublicKey struct {
	Key       string `json:"key"`
	Algorithm string `json:"algorithm"`
	Digest    string `json:"digest"`
}

// KeyID is the kid of the server's own signing key.
func (s *Server) KeyID() string { return s.opts.KeyID }

// AddPublicKey serves key for kid (a published test vector's key, say).
func (s *Server) AddPublicKey(kid string, key PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[kid] = key
}

// FailPublicKey makes getPublicKey for kid answer status (a 500 is the
// test vectors' ERROR case); 0 clears it.
func (s *Server) FailPublicKey(kid string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if status == 0 {
		delete(s.keyFailures, kid)
		return
	}
	s.keyFailures[kid] = status
}

// AddSigningKey makes a new ECDSA key pair, serves its public key under
// kid (as eBay does after a key rotation) and keeps the private key for
// SignedNotificationKey.
func (s *Server) AddSigningKey(kid string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(fmt.Sprintf("ebaytest: generating a signing key: %v", err))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.signers[kid] = key
	s.keys[kid] = PublicKey{Key: publicKeyPEM(&key.PublicKey), Algorithm: "ECDSA", Digest: "SHA1"}
}

// SignedNotificationKey signs body with SHA-1 and the key AddSigningKey
// made for kid, and returns the X-EBAY-SIGNATURE header value.
func (s *Server) SignedNotificationKey(kid string, body []byte) string {
	s.mu.Lock()
	key, ok := s.signers[kid]
	s.mu.Unlock()
	if !ok {
		panic("ebaytest: no signing key " + kid)
	}
	return sign(key, kid, body, "SHA1")
}

// SignedNotification signs body with the server's key and SHA-1, as eBay
// does, and returns the X-EBAY-SIGNATURE header value.
func (s *Server) SignedNotification(body []byte) string {
	return s.SignedNotificationDigest(body, "SHA1")
}

// SignedNotificationDigest signs body with the named digest (SHA1,
// SHA256, SHA384, SHA512) and returns the X-EBAY-SIGNATURE header value.
func (s *Server) SignedNotificationDigest(body []byte, digest string) string {
	return sign(s.key, s.opts.KeyID, body, digest)
}

func sign(key *ecdsa.PrivateKey, kid string, body []byte, digest string) string {
	h, ok := map[string]crypto.Hash{"SHA1": crypto.SHA1, "SHA256": crypto.SHA256, "SHA384": crypto.SHA384, "SHA512": crypto.SHA512}[digest]
	if !ok {
		panic("ebaytest: unknown digest " + digest)
	}
	d := h.New()
	d.Write(body)
	sig, err := ecdsa.SignASN1(rand.Reader, key, d.Sum(nil))
	if err != nil {
		panic(fmt.Sprintf("ebaytest: signing: %v", err))
	}
	hdr, _ := json.Marshal(map[string]string{
		"alg":       "ecdsa",
		"kid":       kid,
		"signature": base64.StdEncoding.EncodeToString(sig),
		"digest":    digest,
	})
	return base64.StdEncoding.EncodeToString(hdr)
}

// handlePublicKey is GET /commerce/notification/v1/public_key/{kid}.
func (s *Server) handlePublicKey(w http.ResponseWriter, r *http.Request) {
	kid := r.PathValue("kid")
	s.mu.Lock()
	key, ok := s.keys[kid]
	fail := s.keyFailures[kid]
	s.mu.Unlock()
	switch {
	case fail != 0:
		writeErrors(w, fail, Error{ErrorID: 195000, Domain: "API_NOTIFICATION", Category: "APPLICATION",
			Message: "There was a problem with an eBay internal system or process. Contact eBay developer support for assistance."})
	case !ok:
		writeErrors(w, http.StatusNotFound, Error{ErrorID: 195001, Domain: "API_NOTIFICATION", Category: "REQUEST",
			Message: "The specified public key ID was not found."})
	default:
		writeJSON(w, http.StatusOK, key)
	}
}

// publicKeyPEM renders a key as eBay does: a PEM armour with no line breaks.
func publicKeyPEM(pub *ecdsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(fmt.Sprintf("ebaytest: encoding the public key: %v", err))
	}
	return "-----BEGIN PUBLIC KEY-----" + base64.StdEncoding.EncodeToString(der) + "-----END PUBLIC KEY-----"
}
