package demo

import (
	"reflect"
	"testing"
)

// TestKeepChannels: Keep leaves the named fakes, in the fakes' order, and
// refuses a name that is not a simulated channel (changing nothing).
func TestKeepChannels(t *testing.T) {
	f := StartFakes(0, "")
	defer f.Close()
	all := f.Names()
	if len(all) < 3 {
		t.Fatalf("fakes %v", all)
	}
	if err := f.Keep([]string{"nope"}); err == nil || !reflect.DeepEqual(f.Names(), all) {
		t.Fatalf("Keep(nope) = %v, names %v", err, f.Names())
	}
	if err := f.Keep([]string{all[2], all[0]}); err != nil {
		t.Fatal(err)
	}
	if got := f.Names(); !reflect.DeepEqual(got, []string{all[0], all[2]}) {
		t.Fatalf("names after Keep: %v, want %v", got, []string{all[0], all[2]})
	}
	if f.Channel(all[1]) != nil || f.Channel(all[0]) == nil {
		t.Fatal("Keep left the wrong fakes running")
	}
}
