package stream

import (
	"hash/fnv"
	"strconv"
	"strings"
)

// SlotCount is the number of Redis Cluster hash slots.
const SlotCount = 16384

// Slot is the Redis Cluster hash slot of key: CRC16 (XMODEM) of its hash
// tag (the part between the first "{" and the next "}", when not empty),
// else of the whole key, modulo 16384.
func Slot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	var crc uint16
	for k := 0; k < len(key); k++ {
		crc ^= uint16(key[k]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc) % SlotCount
}

// PartitionTags are the hash tags of the n partitions of the stream name:
// name itself when n <= 1 (a single stream, its keys as they always were);
// otherwise, for partition i, name + ":" + i + "." + j with j the first
// suffix (0, 1, …) whose slot lies in the i-th of n equal slot ranges. So
// the partitions spread evenly over a Redis Cluster whose primaries hold
// equal contiguous slot ranges (what `redis-cli --cluster create` and the
// managed services make): with n a multiple of the number of primaries,
// each holds n/primaries partitions. The tags depend on name and n only.
func PartitionTags(name string, n int) []string {
	if n <= 1 {
		return []string{name}
	}
	out := make([]string, n)
	for i := range n {
		lo, hi := i*SlotCount/n, (i+1)*SlotCount/n
		for j := 0; ; j++ {
			tag := name + ":" + strconv.Itoa(i) + "." + strconv.Itoa(j)
			if s := Slot(tag); s >= lo && s < hi {
				out[i] = tag
				break
			}
		}
	}
	return out
}

// PartitionOf is the partition, among n, of a partition key (FNV-1a): the
// messages of one key always go to the same partition, in order.
func PartitionOf(key string, n int) int {
	if n <= 1 {
		return 0
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return int(h.Sum32() % uint32(n))
}
