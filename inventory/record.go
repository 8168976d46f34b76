package inventory

import (
	"fmt"
	"strconv"
	"strings"
)

// Level is one location's figures.
type Level struct {
	OnHand, Reserved, Available int64
}

func level(onHand, reserved int64) Level {
	return Level{OnHand: onHand, Reserved: reserved, Available: onHand - reserved}
}

// figures is a decoded stock hash value: "onhand,reserved[,countversion]".
type figures struct {
	Level
	CountVersion string // "" until a WMS count was applied
}

// decodeFigures parses a stock hash value written by the scripts.
func decodeFigures(v string) (figures, error) {
	parts := strings.Split(v, ",")
	if len(parts) != 2 && len(parts) != 3 {
		return figures{}, fmt.Errorf("malformed stock figures %q", v)
	}
	h, err1 := parseStoredInt(parts[0])
	r, err2 := parseStoredInt(parts[1])
	if err1 != nil || err2 != nil {
		return figures{}, fmt.Errorf("malformed stock figures %q", v)
	}
	f := figures{Level: level(h, r)}
	if len(parts) == 3 {
		if !isVersion(parts[2]) {
			return figures{}, fmt.Errorf("malformed count version in stock figures %q", v)
		}
		f.CountVersion = parts[2]
	}
	return f, nil
}

// parseStoredInt reads an integer as the scripts' patterns (-?%d+) do:
// strconv alone would also take "+5", which the scripts refuse.
func parseStoredInt(s string) (int64, error) {
	if s == "" || s[0] == '+' {
		return 0, fmt.Errorf("not an integer: %q", s)
	}
	return strconv.ParseInt(s, 10, 64)
}

// isVersion reports whether v is a version as the scripts compare them:
// decimal digits without a leading zero (or "0").
func isVersion(v string) bool {
	if v == "" || len(v) > 19 || (len(v) > 1 && v[0] == '0') {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	_, err := strconv.ParseInt(v, 10, 64)
	return err == nil
}

// LineRecord is an order line as the ledger holds it.
type LineRecord struct {
	Channel, OrderID, LineID, SKU string
	// Location is where the line's stock is; of a split line, its last
	// part (Split lists every part; Shares spreads the figures).
	Location                    string
	Split                       []SplitPart
	Version                     int64
	Ordered, Shipped, Cancelled int64
	Restocked, WrittenOff       int64 // returned units, by what was done with them
	Reserved                    int64 // Ordered - Shipped - Cancelled
	// LocalShipped is the units shelfsync itself shipped (ShipLines);
	// Shipped is never below it.
	LocalShipped int64
}

// Open reports whether the line still holds a reservation.
func (r LineRecord) Open() bool { return r.Reserved > 0 }

// decodeLineRecord parses a line record value
// "version[:localshipped][*],ordered,shipped,cancelled,restocked,writtenoff,location"
// (the location last, so it may contain commas; with "*", a split line,
// its parts instead: "<byte length>:<location>=<units>;" each).
func decodeLineRecord(v string) (LineRecord, error) {
	parts := strings.SplitN(v, ",", 7)
	if len(parts) != 7 || parts[6] == "" {
		return LineRecord{}, fmt.Errorf("malformed line record %q", v)
	}
	var local int64
	split := strings.HasSuffix(parts[0], "*")
	parts[0] = strings.TrimSuffix(parts[0], "*")
	if vs, ls, ok := strings.Cut(parts[0], ":"); ok {
		x, err := parseStoredInt(ls)
		if err != nil || x < 0 {
			return LineRecord{}, fmt.Errorf("malformed line record %q", v)
		}
		parts[0], local = vs, x
	}
	if !isVersion(parts[0]) {
		return LineRecord{}, fmt.Errorf("malformed line record %q", v)
	}
	var n [5]int64
	for i := range n {
		x, err := parseStoredInt(parts[i+1])
		if err != nil || x < 0 {
			return LineRecord{}, fmt.Errorf("malformed line record %q", v)
		}
		n[i] = x
	}
	ver, _ := strconv.ParseInt(parts[0], 10, 64)
	r := LineRecord{
		Location: parts[6], Version: ver,
		Ordered: n[0], Shipped: n[1], Cancelled: n[2], Restocked: n[3], WrittenOff: n[4],
		LocalShipped: local,
	}
	r.Reserved = r.Ordered - r.Shipped - r.Cancelled
	if split {
		ps, ok := decodeParts(r.Location)
		if !ok {
			return LineRecord{}, fmt.Errorf("malformed line record %q", v)
		}
		r.Split, r.Location = ps, ps[len(ps)-1].Location
	}
	return r, nil
}

// problems lists what is internally inconsistent in a record.
func (r LineRecord) problems() []string {
	var p []string
	if r.Shipped+r.Cancelled > r.Ordered {
		p = append(p, fmt.Sprintf("shipped %d + cancelled %d exceed ordered %d", r.Shipped, r.Cancelled, r.Ordered))
	}
	if r.Restocked+r.WrittenOff > r.Shipped {
		p = append(p, fmt.Sprintf("returned %d exceed shipped %d", r.Restocked+r.WrittenOff, r.Shipped))
	}
	return p
}
