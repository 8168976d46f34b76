package connectors

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
)

var (
	errPart  = errors.New("part refused")
	errOther = errors.New("read refused")
)

// TestOptionalPartRead: Read asks for the part while it may, reads again
// without it on the part's refusal only, drops the part only when that
// second read succeeds, and calls the hook once, with the refusal.
func TestOptionalPartRead(t *testing.T) {
	// answer is what the channel says to a read with or without the part.
	type answer struct{ with, without error }
	for _, tc := range []struct {
		name string
		ask  bool
		// reads: one Read per answer, in order.
		reads []answer
		// wantErrs: what each Read returns.
		wantErrs []error
		// wantCalls: every withPart the reads were made with, in order.
		wantCalls []bool
		wantAsked bool
		wantDrops []error
	}{
		{name: "not asked", ask: false,
			reads:     []answer{{with: errPart}, {}},
			wantErrs:  []error{nil, nil},
			wantCalls: []bool{false, false}},
		{name: "granted", ask: true,
			reads:     []answer{{}, {}},
			wantErrs:  []error{nil, nil},
			wantCalls: []bool{true, true}, wantAsked: true},
		{name: "refused, then never asked again", ask: true,
			reads:     []answer{{with: errPart}, {with: errPart}, {}},
			wantErrs:  []error{nil, nil, nil},
			wantCalls: []bool{true, false, false, false}, wantDrops: []error{errPart}},
		{name: "wrapped refusal", ask: true,
			reads:     []answer{{with: fmt.Errorf("page 2: %w", errPart)}},
			wantErrs:  []error{nil},
			wantCalls: []bool{true, false}, wantDrops: []error{errPart}},
		{name: "other error: no second read, still asked", ask: true,
			reads:     []answer{{with: errOther}, {}},
			wantErrs:  []error{errOther, nil},
			wantCalls: []bool{true, true}, wantAsked: true},
		{name: "second read fails too: its error, still asked", ask: true,
			reads:     []answer{{with: errPart, without: errOther}, {}},
			wantErrs:  []error{errOther, nil},
			wantCalls: []bool{true, false, true}, wantAsked: true},
		{name: "second read fails, the next refusal drops", ask: true,
			reads:     []answer{{with: errPart, without: errOther}, {with: errPart}, {}},
			wantErrs:  []error{errOther, nil, nil},
			wantCalls: []bool{true, false, true, false, false}, wantDrops: []error{errPart}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var drops []error
			p := NewOptionalPart(tc.ask, func(err error) bool { return errors.Is(err, errPart) },
				func(err error) { drops = append(drops, err) })
			var calls []bool
			for i, a := range tc.reads {
				err := p.Read(func(with bool) error {
					calls = append(calls, with)
					if with {
						return a.with
					}
					return a.without
				})
				if !errors.Is(err, tc.wantErrs[i]) || (err == nil) != (tc.wantErrs[i] == nil) {
					t.Errorf("read %d: error %v, want %v", i+1, err, tc.wantErrs[i])
				}
			}
			if !slices.Equal(calls, tc.wantCalls) {
				t.Errorf("reads made with the part: %v, want %v", calls, tc.wantCalls)
			}
			if p.Asked() != tc.wantAsked {
				t.Errorf("Asked() = %v, want %v", p.Asked(), tc.wantAsked)
			}
			if len(drops) != len(tc.wantDrops) {
				t.Fatalf("hook called with %v, want %v", drops, tc.wantDrops)
			}
			for i := range drops {
				if !errors.Is(drops[i], tc.wantDrops[i]) {
					t.Errorf("hook called with %v, want %v", drops[i], tc.wantDrops[i])
				}
			}
		})
	}
}

// TestOptionalPartNilHook: a part without a hook drops all the same.
func TestOptionalPartNilHook(t *testing.T) {
	p := NewOptionalPart(true, func(err error) bool { return errors.Is(err, errPart) }, nil)
	err := p.Read(func(with bool) error {
		if with {
			return errPart
		}
		return nil
	})
	if err != nil || p.Asked() {
		t.Fatalf("error %v, asked %v: want nil, false", err, p.Asked())
	}
}

// TestOptionalPartConcurrent: reads refused at once (a poll and fetches)
// all succeed without the part, and the hook runs once (run with -race).
func TestOptionalPartConcurrent(t *testing.T) {
	var mu sync.Mutex
	drops := 0
	p := NewOptionalPart(true, func(err error) bool { return errors.Is(err, errPart) },
		func(error) { mu.Lock(); drops++; mu.Unlock() })
	// Every reader makes its first read with the part before any drops it.
	const readers = 8
	var asked sync.WaitGroup
	asked.Add(readers)
	var wg sync.WaitGroup
	errs := make([]error, readers)
	for i := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			errs[i] = p.Read(func(with bool) error {
				if first {
					first = false
					asked.Done()
					asked.Wait()
				}
				if with {
					return errPart
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("reader %d: %v", i, err)
		}
	}
	if drops != 1 || p.Asked() {
		t.Errorf("hook ran %d times, asked %v: want once, false", drops, p.Asked())
	}
}
