package ext4

import "hash/crc32"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crc32c continues the CRC-32C (Castagnoli) of ext4's metadata_csum over p
// from c. ext4 chains the raw register value without the usual final
// inversion (Linux's crc32c()), while hash/crc32 inverts on the way in and
// out, so the register is inverted around the call.
func crc32c(c uint32, p []byte) uint32 {
	return ^crc32.Update(^c, castagnoli, p)
}
