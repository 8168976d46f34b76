package stream

import (
	"fmt"
	"testing"

	"github.com/shelfsync/shelfsync/internal/redistest"
)

// TestSlotIsRedisClusters: Slot agrees with CLUSTER KEYSLOT of the
// Redis Cluster the test starts, for plain keys, hash tags, an empty tag
// and an unclosed brace.
func TestSlotIsRedisClusters(t *testing.T) {
	c := redistest.StartCluster(t)
	cc := c.Client(t)
	keys := []string{"", "a", "foo", "{user1000}.following", "x{intake:3.7}:stream", "{}abc", "a{b", "a}b{c}d", "pre:{orders:11.2}:v:shop:1"}
	for i := range 200 {
		keys = append(keys, fmt.Sprintf("k%d", i), fmt.Sprintf("p:{intake:%d}:s", i))
	}
	for _, k := range keys {
		want, err := cc.ClusterKeySlot(t.Context(), k).Result()
		if err != nil {
			t.Fatal(err)
		}
		if got := Slot(k); int64(got) != want {
			t.Errorf("Slot(%q) = %d, CLUSTER KEYSLOT says %d", k, got, want)
		}
	}
}

// TestPartitionTagsSpreadOverSlotRanges: one partition keeps the name as
// its tag; n partitions get distinct tags, partition i's slot in the i-th
// of n equal ranges, and the same tags every time.
func TestPartitionTagsSpreadOverSlotRanges(t *testing.T) {
	if got := PartitionTags("intake", 1); len(got) != 1 || got[0] != "intake" {
		t.Fatalf("one partition: %v", got)
	}
	if got := PartitionTags("intake", 0); len(got) != 1 || got[0] != "intake" {
		t.Fatalf("zero partitions: %v", got)
	}
	for _, n := range []int{2, 3, 6, 12, 64} {
		tags := PartitionTags("orders", n)
		seen := map[string]bool{}
		for i, tag := range tags {
			s := Slot(tag)
			if s < i*SlotCount/n || s >= (i+1)*SlotCount/n || seen[tag] {
				t.Errorf("n=%d partition %d: tag %q slot %d", n, i, tag, s)
			}
			seen[tag] = true
		}
		if again := PartitionTags("orders", n); fmt.Sprint(again) != fmt.Sprint(tags) {
			t.Errorf("n=%d: tags changed: %v then %v", n, tags, again)
		}
	}
}

// TestPartitionOfSpreadsKeys: a key always maps to the same partition, and
// many keys use every partition about equally.
func TestPartitionOfSpreadsKeys(t *testing.T) {
	const n, keys = 12, 12000
	count := make([]int, n)
	for i := range keys {
		k := fmt.Sprintf("shopify:%d", 5000000000+i)
		p := PartitionOf(k, n)
		if p != PartitionOf(k, n) || p < 0 || p >= n {
			t.Fatalf("PartitionOf(%q) = %d", k, p)
		}
		count[p]++
	}
	for p, c := range count {
		if c < keys/n*8/10 || c > keys/n*12/10 {
			t.Errorf("partition %d got %d of %d keys: %v", p, c, keys, count)
		}
	}
	if PartitionOf("anything", 1) != 0 {
		t.Error("one partition: not 0")
	}
}
