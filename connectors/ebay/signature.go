package ebay

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"

	// The digests a signature header may name.
	_ "crypto/sha1"
	_ "crypto/sha256"
	_ "crypto/sha512"
)

// SignatureHeader is the header eBay signs notifications in.
const SignatureHeader = "X-EBAY-SIGNATURE"

// maxSignatureHeader bounds the header before it is decoded.
const maxSignatureHeader = 4096

// maxKid bounds a kid. eBay's are UUIDs (36 characters); the bound leaves
// room for another form without letting a header name a long path.
const maxKid = 128

// maxSignatureBytes bounds the DER signature: an ECDSA signature on
// P-521, the largest curve, is at most 139 bytes.
const maxSignatureBytes = 160

// signature is the decoded X-EBAY-SIGNATURE header.
type signature struct {
	Alg       string `json:"alg"`
	Kid       string `json:"kid"`
	Signature string `json:"signature"`
	Digest    string `json:"digest"`
	sig       []byte
	hash      crypto.Hash
}

// digests are the hashes a header may name. eBay signs with SHA1 today;
// the header names it, so a change on eBay's side needs no code change.
var digests = map[string]crypto.Hash{
	"SHA1": crypto.SHA1, "SHA-1": crypto.SHA1,
	"SHA256": crypto.SHA256, "SHA-256": crypto.SHA256,
	"SHA384": crypto.SHA384, "SHA-384": crypto.SHA384,
	"SHA512": crypto.SHA512, "SHA-512": crypto.SHA512,
}

// parseSignature decodes the header: base64 of JSON {alg, kid, signature,
// digest}, signature being base64 of an ASN.1 DER ECDSA signature. It
// refuses algorithms other than ECDSA, digests it does not know, a kid
// that is not 1 to 128 of [A-Za-z0-9._-] starting with a letter or digit,
// and a signature that is not a DER SEQUENCE of two positive INTEGERs.
// It does no I/O: a header it accepts is the only kind that may cost a
// key fetch.
func parseSignature(header string) (*signature, error) {
	header = strings.TrimSpace(header)
	if header == "" {
		return nil, errors.New("no " + SignatureHeader + " header")
	}
	if len(header) > maxSignatureHeader {
		return nil, fmt.Errorf("%s header of %d bytes", SignatureHeader, len(header))
	}
	raw, err := base64.StdEncoding.DecodeString(header)
	if err != nil {
		if raw, err = base64.RawStdEncoding.DecodeString(header); err != nil {
			return nil, fmt.Errorf("%s is not base64: %w", SignatureHeader, err)
		}
	}
	var s signature
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("%s is not JSON: %w", SignatureHeader, err)
	}
	if !strings.EqualFold(s.Alg, "ecdsa") {
		return nil, fmt.Errorf("signature algorithm %q, want ecdsa", s.Alg)
	}
	if s.Kid == "" {
		return nil, errors.New("signature has no kid")
	}
	if !validKid(s.Kid) {
		return nil, fmt.Errorf("signature kid %q is not 1 to %d of [A-Za-z0-9._-]", truncate(s.Kid, 40), maxKid)
	}
	h, ok := digests[strings.ToUpper(s.Digest)]
	if !ok {
		return nil, fmt.Errorf("unknown signature digest %q", truncate(s.Digest, 40))
	}
	s.hash = h
	if s.sig, err = base64.StdEncoding.DecodeString(s.Signature); err != nil || len(s.sig) == 0 {
		return nil, fmt.Errorf("signature is not base64: %v", err)
	}
	if err := checkDER(s.sig); err != nil {
		return nil, err
	}
	return &s, nil
}

// validKid: 1 to maxKid of [A-Za-z0-9._-], the first a letter or digit
// (so never "." or ".."): a kid goes into getPublicKey's URL path.
func validKid(kid string) bool {
	if len(kid) == 0 || len(kid) > maxKid {
		return false
	}
	for i := 0; i < len(kid); i++ {
		c := kid[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case (c == '-' || c == '_' || c == '.') && i > 0:
		default:
			return false
		}
	}
	return true
}

// checkDER refuses bytes that can not be an ASN.1 DER ECDSA signature:
// SEQUENCE { r INTEGER, s INTEGER }, both positive, nothing after.
func checkDER(sig []byte) error {
	if len(sig) > maxSignatureBytes {
		return fmt.Errorf("signature of %d bytes, an ECDSA signature has at most %d", len(sig), maxSignatureBytes)
	}
	var rs struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(sig, &rs)
	if err != nil {
		return fmt.Errorf("signature is not a DER ECDSA signature: %v", err)
	}
	if len(rest) != 0 || rs.R.Sign() <= 0 || rs.S.Sign() <= 0 {
		return errors.New("signature is not a DER ECDSA signature")
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// verify checks the signature over body. eBay signs the JSON it sends;
// should a proxy have re-indented the body, its compact form (same keys,
// same order) is tried too: it is still exactly what eBay signed.
func (s *signature) verify(key *ecdsa.PublicKey, body []byte) bool {
	if s.verifyBytes(key, body) {
		return true
	}
	var compact bytes.Buffer
	if json.Compact(&compact, body) != nil || bytes.Equal(compact.Bytes(), body) {
		return false
	}
	return s.verifyBytes(key, compact.Bytes())
}

func (s *signature) verifyBytes(key *ecdsa.PublicKey, body []byte) bool {
	h := s.hash.New()
	h.Write(body)
	return ecdsa.VerifyASN1(key, h.Sum(nil), s.sig)
}
