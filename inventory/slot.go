package inventory

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
