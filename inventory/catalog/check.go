package catalog

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/shelfsync/shelfsync/inventory"
)

// Plan is a set of mappings and kits to put in the catalog together
// (an imported file, an API body). Each replaces what the catalog held
// for the same listing or kit; nothing else is touched.
type Plan struct {
	Mappings []Mapping `json:"mappings" yaml:"mappings"`
	Kits     []Kit     `json:"kits" yaml:"kits"`
	// Replace allows changing what an existing mapping stands for or what
	// an existing kit is made of. Without it such a change is a problem:
	// order lines already booked under the old translation stay where
	// they are, and a later state of such a line would be booked again
	// under the new one.
	Replace bool `json:"-" yaml:"-"`
}

// Problem is one thing wrong with a plan, with the line (or item) it is on.
type Problem struct {
	Line int    // 0 when unknown
	Msg  string // what is wrong
}

func (p Problem) Error() string {
	if p.Line > 0 {
		return fmt.Sprintf("line %d: %s", p.Line, p.Msg)
	}
	return p.Msg
}

// Ledger is what checking a plan needs of the stock ledger: which SKUs it
// holds.
type Ledger interface {
	StockMany(ctx context.Context, skus []string) (map[string]inventory.SKUStock, error)
}

// checker collects a plan's problems against the ledger and the catalog.
type checker struct {
	plan     Plan
	known    map[string]inventory.SKUStock // ledger SKUs
	entries  map[string]Entry              // the catalog now
	channels map[string]bool               // nil: any channel
	kits     map[string]*Kit               // kits of the plan
	problems []Problem
}

func (k *checker) add(line int, format string, a ...any) {
	k.problems = append(k.problems, Problem{Line: line, Msg: fmt.Sprintf(format, a...)})
}

// Check validates the whole plan against the ledger and the catalog and
// returns every problem found (none: it may be applied). channels, when
// not nil, are the channels a mapping may name.
func (c *Catalog) Check(ctx context.Context, plan Plan, ledger Ledger, channels []string) ([]Problem, error) {
	names := planNames(plan)
	known, err := ledger.StockMany(ctx, names)
	if err != nil {
		return nil, fmt.Errorf("checking the catalog against the ledger: %w", err)
	}
	entries, err := c.Entries(ctx, names)
	if err != nil {
		return nil, err
	}
	k := &checker{plan: plan, known: known, entries: entries, kits: map[string]*Kit{}}
	if channels != nil {
		k.channels = map[string]bool{}
		for _, ch := range channels {
			k.channels[ch] = true
		}
	}
	for i := range plan.Kits {
		k.checkKitHead(&plan.Kits[i])
	}
	for i := range plan.Kits {
		k.checkComponents(&plan.Kits[i])
	}
	k.checkMappings()
	sort.SliceStable(k.problems, func(i, j int) bool { return k.problems[i].Line < k.problems[j].Line })
	return k.problems, nil
}

// planNames is every name a plan refers to, each once.
func planNames(plan Plan) []string {
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, m := range plan.Mappings {
		add(m.SKU)
		add(m.Listing)
	}
	for _, kt := range plan.Kits {
		add(kt.SKU)
		for _, cp := range kt.Components {
			add(cp.SKU)
		}
	}
	return out
}

// checkName refuses what no key or ledger id can hold.
func (k *checker) checkName(line int, what, v string) bool {
	switch {
	case v == "":
		k.add(line, "%s is empty", what)
	case strings.Contains(v, sep):
		k.add(line, "%s %q contains the byte 0x1f", what, v)
	case v == "." || v == "..":
		k.add(line, "%s %q is not allowed (a URL path step)", what, v)
	default:
		return true
	}
	return false
}

// checkKitHead checks a kit's own SKU: new in the plan, no ledger SKU
// (a kit holds no stock), no component of another kit.
func (k *checker) checkKitHead(kt *Kit) {
	if !k.checkName(kt.Line, "kit sku", kt.SKU) {
		return
	}
	if first, dup := k.kits[kt.SKU]; dup {
		k.add(kt.Line, "kit %s defined twice (first on line %d)", kt.SKU, first.Line)
		return
	}
	k.kits[kt.SKU] = kt
	if _, ok := k.known[kt.SKU]; ok {
		k.add(kt.Line, "kit %s is a ledger SKU: a kit holds no stock of its own", kt.SKU)
	}
	var users []string // kits that take this one as a component, and are not redefined here
	for other := range k.entries[kt.SKU].Kits {
		if _, redefined := k.kits[other]; !redefined {
			users = append(users, other)
		}
	}
	if len(users) > 0 {
		sort.Strings(users)
		k.add(kt.Line, "kit %s is a component of kit %s: kits of kits are refused", kt.SKU, strings.Join(users, ", "))
	}
	if len(kt.Components) == 0 {
		k.add(kt.Line, "kit %s has no components", kt.SKU)
	}
	if old := k.entries[kt.SKU].Components; !k.plan.Replace && len(old) > 0 && encodeComponents(old) != encodeComponents(kt.Components) {
		k.add(kt.Line, "kit %s is already %s; changing it needs --replace (?replace=true in the API; order lines booked under the old components stay there)", kt.SKU, describeComponents(old))
	}
}

// checkComponents checks a kit's components: known ledger SKUs, no kits,
// not the kit itself, each once, a positive quantity.
func (k *checker) checkComponents(kt *Kit) {
	seen := map[string]int{}
	for _, cp := range kt.Components {
		line := cp.Line
		if line == 0 {
			line = kt.Line
		}
		if !k.checkName(line, "component sku", cp.SKU) {
			continue
		}
		if cp.Quantity < 1 {
			k.add(line, "kit %s: component %s has quantity %d; it must be at least 1", kt.SKU, cp.SKU, cp.Quantity)
		}
		if first, dup := seen[cp.SKU]; dup {
			k.add(line, "kit %s: component %s listed twice (first on line %d)", kt.SKU, cp.SKU, first)
		}
		seen[cp.SKU] = line
		switch {
		case cp.SKU == kt.SKU:
			k.add(line, "kit %s contains itself: a cycle", kt.SKU)
		case k.isKit(cp.SKU):
			k.add(line, "kit %s: component %s is a kit: kits of kits are refused", kt.SKU, cp.SKU)
		case !k.isLedgerSKU(cp.SKU):
			k.add(line, "kit %s: unknown component %s (not a ledger SKU)", kt.SKU, cp.SKU)
		}
	}
}

func (k *checker) isKit(name string) bool {
	if _, ok := k.kits[name]; ok {
		return true
	}
	return k.entries[name].IsKit()
}

func (k *checker) isLedgerSKU(name string) bool {
	_, ok := k.known[name]
	return ok
}

// checkMappings checks every mapping: a known channel, a listing id given
// once per channel, a known ledger SKU or kit, a positive multiplier.
func (k *checker) checkMappings() {
	seen := map[Ref]int{}
	for _, m := range k.plan.Mappings {
		okCh := k.checkName(m.Line, "channel", m.Channel)
		okL := k.checkName(m.Line, "listing", m.Listing)
		okS := k.checkName(m.Line, "sku", m.SKU)
		if okCh && k.channels != nil && !k.channels[m.Channel] {
			k.add(m.Line, "unknown channel %s", m.Channel)
		}
		if m.Multiplier < 1 {
			k.add(m.Line, "listing %s on %s: multiplier %d; it must be at least 1", m.Listing, m.Channel, m.Multiplier)
		}
		if okCh && okL {
			r := Ref{Channel: m.Channel, SKU: m.Listing}
			if first, dup := seen[r]; dup {
				k.add(m.Line, "duplicate listing id %s on channel %s (first on line %d)", m.Listing, m.Channel, first)
			}
			seen[r] = m.Line
		}
		if okS && !k.isLedgerSKU(m.SKU) && !k.isKit(m.SKU) {
			k.add(m.Line, "listing %s on %s: unknown ledger SKU %s (neither in the ledger nor a kit)", m.Listing, m.Channel, m.SKU)
		}
		if old, had := k.entries[m.Listing].MappedOn[m.Channel]; had && !k.plan.Replace && old != (Target{SKU: m.SKU, Multiplier: m.Multiplier}) {
			k.add(m.Line, "listing %s on %s already stands for %s; changing it needs --replace (?replace=true in the API; order lines booked under the old mapping stay there)", m.Listing, m.Channel, describeTarget(old))
		}
	}
}
