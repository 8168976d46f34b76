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
// hashes keys, a byte at a time (crcTable): a bulk import hashes every
// SKU.
func crc16(s string) uint16 {
	t := crcTable()
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc = crc<<8 ^ t[byte(crc>>8)^s[i]]
	}
	return crc
}

// crcTable is crc16's table: the CRC of each byte, bit by bit.
var crcTable = sync.OnceValue(func() *[256]uint16 {
	var t [256]uint16
	for b := range t {
		crc := uint16(b) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
		t[b] = crc
	}
	return &t
})

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
