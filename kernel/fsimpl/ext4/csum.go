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

// crc16 continues the CRC-16 of the older gdt_csum (uninit_bg) group
// descriptor checksums from c: polynomial 0x8005 processed bit-reflected
// (0xA001), no final inversion, as Linux's crc16().
func crc16(c uint16, p []byte) uint16 {
	for _, b := range p {
		c ^= uint16(b)
		for i := 0; i < 8; i++ {
			if c&1 != 0 {
				c = c>>1 ^ 0xA001
			} else {
				c >>= 1
			}
		}
	}
	return c
}
