package shipments

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Carriers merges a connector's built-in carrier table (canonical name →
// the channel's code) with the channel's config override
// (channels[].carriers): the override wins, and adds carriers the
// connector does not know. Names are compared in lower case.
func Carriers(builtin, override map[string]string) map[string]string {
	out := make(map[string]string, len(builtin)+len(override))
	for k, v := range builtin {
		out[strings.ToLower(strings.TrimSpace(k))] = v
	}
	for k, v := range override {
		out[strings.ToLower(strings.TrimSpace(k))] = v
	}
	return out
}

// known lists a carrier table's names, sorted (for the refusal of an
// unknown carrier).
func known(table map[string]string) []string {
	out := make([]string, 0, len(table))
	for k := range table {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// trackingFormats are the tracking number formats of carriers whose
// format is published and fixed; a number of another shape for them is
// refused (400). Other carriers' numbers are taken as given.
var trackingFormats = map[string]struct {
	re   *regexp.Regexp
	what string
}{
	// UPS: "1Z", a 6-character shipper number, 2-digit service code, 8 digits.
	"ups": {regexp.MustCompile(`^1Z[0-9A-Z]{16}$`), "1Z followed by 16 letters or digits"},
	// FedEx: 12 (Express), 15 (Ground), 20 or 22 (SmartPost) digits.
	"fedex": {regexp.MustCompile(`^(\d{12}|\d{15}|\d{20}|\d{22})$`), "12, 15, 20 or 22 digits"},
	// USPS: 20–22 digits (IMpb), or the S10 international form AA123456789US.
	"usps": {regexp.MustCompile(`^(\d{20,22}|[A-Z]{2}\d{9}US)$`), "20 to 22 digits, or two letters, 9 digits and US"},
}

// checkTracking refuses a tracking number that does not have its
// carrier's published form (for those carriers, spaces are removed and
// letters upper-cased first: numbers are often printed in groups), and any
// number that is empty, too long or not printable ASCII.
func checkTracking(carrier, number string) (string, error) {
	n := strings.TrimSpace(number)
	f, formatted := trackingFormats[carrier]
	if formatted {
		n = strings.ToUpper(strings.ReplaceAll(n, " ", ""))
	}
	if n == "" {
		return "", fmt.Errorf("tracking_number is required")
	}
	if len(n) > 64 {
		return "", fmt.Errorf("tracking_number is longer than 64 characters")
	}
	for _, r := range n {
		if r < 0x21 || r > 0x7e {
			return "", fmt.Errorf("tracking_number %q has a character that is not printable ASCII", number)
		}
	}
	if formatted && !f.re.MatchString(n) {
		return "", fmt.Errorf("tracking_number %q is not a %s tracking number (%s)", number, carrier, f.what)
	}
	return n, nil
}
