package inventory

import (
	"strconv"
	"sync"
)

// SKUSlot is the Redis Cluster slot of every key of sku (they share the
// hash tag {sku}): CRC16/XMODEM of the tag, mod 16384. Callers order bulk
// work by it (SetCounts runs the counts of one slot together).
func SKUSlot(sku string) int {
	return int(crc16(keySKU(sku)) % 16384)
}

// crc16 is CRC16/XMODEM (polynomial 0x1021, initial 0), as Redis Cluster
// hashes keys.
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for b := 0; b < 8; b++ {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// slotTags holds, per Cluster slot, a short hash tag that hashes to it:
// the tag of keys that belong to a slot rather than to one SKU (the
// opening hash, openingKey), so a script of that slot's SKUs may touch
// them. Found by trying "o0", "o1", ... (base 36) until every slot has
// one: about 170,000 CRCs, once.
var slotTags = sync.OnceValue(func() *[16384]string {
	var tags [16384]string
	left := len(tags)
	for n := int64(0); left > 0; n++ {
		t := "o" + strconv.FormatInt(n, 36)
		if s := crc16(t) % 16384; tags[s] == "" {
			tags[s] = t
			left--
		}
	}
	return &tags
})
