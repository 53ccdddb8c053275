package ext4

import "math/bits"

// The hashes of dir_index directories (Linux fs/ext4/hash.c,
// e2fsprogs lib/ext2fs/dirhash.c): the "legacy" hash of ext3's first
// htree code, half MD4 and TEA, each over names read as signed or as
// unsigned chars, as the superblock's s_flags say.

const (
	hashLegacy = iota
	hashHalfMD4
	hashTea
	hashLegacyUnsigned
	hashHalfMD4Unsigned
	hashTeaUnsigned
	hashSiphash
)

// charOf reads byte b as C's char would: sign-extended or not.
func charOf(b byte, unsigned bool) uint32 {
	if unsigned {
		return uint32(b)
	}
	return uint32(int32(int8(b)))
}

func legacyHash(name []byte, unsigned bool) uint32 {
	h0, h1 := uint32(0x12a3fe2d), uint32(0x37abe8f9)
	for _, b := range name {
		h := h1 + (h0 ^ charOf(b, unsigned)*7152373)
		if h&0x80000000 != 0 {
			h -= 0x7fffffff
		}
		h1, h0 = h0, h
	}
	return h0 << 1
}

// strToHashBuf packs up to 4*num bytes of msg into num words, padded with
// a word made of the name's length.
func strToHashBuf(msg []byte, length int, buf []uint32, unsigned bool) {
	pad := uint32(length) | uint32(length)<<8
	pad |= pad << 16
	val := pad
	num := len(buf)
	if len(msg) > num*4 {
		msg = msg[:num*4]
	}
	k := 0
	for i, b := range msg {
		val = charOf(b, unsigned) + val<<8
		if i%4 == 3 {
			buf[k] = val
			k++
			val = pad
		}
	}
	if k < num {
		buf[k] = val
		k++
	}
	for ; k < num; k++ {
		buf[k] = pad
	}
}

func teaTransform(buf *[4]uint32, in []uint32) {
	var sum uint32
	b0, b1 := buf[0], buf[1]
	a, b, c, d := in[0], in[1], in[2], in[3]
	for n := 0; n < 16; n++ {
		sum += 0x9E3779B9
		b0 += ((b1 << 4) + a) ^ (b1 + sum) ^ ((b1 >> 5) + b)
		b1 += ((b0 << 4) + c) ^ (b0 + sum) ^ ((b0 >> 5) + d)
	}
	buf[0] += b0
	buf[1] += b1
}

// halfMD4Transform is MD4's compression function cut to three rounds of
// eight steps over eight input words.
func halfMD4Transform(buf *[4]uint32, in []uint32) {
	a, b, c, d := buf[0], buf[1], buf[2], buf[3]
	f := func(x, y, z uint32) uint32 { return z ^ (x & (y ^ z)) }
	g := func(x, y, z uint32) uint32 { return (x & y) + ((x ^ y) & z) }
	h := func(x, y, z uint32) uint32 { return x ^ y ^ z }
	const k2, k3 = 0x5A827999, 0x6ED9EBA1
	type step struct {
		in, s int
	}
	round := func(fn func(x, y, z uint32) uint32, k uint32, steps [8]step) {
		for i, st := range steps {
			switch i % 4 {
			case 0:
				a = bits.RotateLeft32(a+fn(b, c, d)+in[st.in]+k, st.s)
			case 1:
				d = bits.RotateLeft32(d+fn(a, b, c)+in[st.in]+k, st.s)
			case 2:
				c = bits.RotateLeft32(c+fn(d, a, b)+in[st.in]+k, st.s)
			case 3:
				b = bits.RotateLeft32(b+fn(c, d, a)+in[st.in]+k, st.s)
			}
		}
	}
	round(f, 0, [8]step{{0, 3}, {1, 7}, {2, 11}, {3, 19}, {4, 3}, {5, 7}, {6, 11}, {7, 19}})
	round(g, k2, [8]step{{1, 3}, {3, 5}, {5, 9}, {7, 13}, {0, 3}, {2, 5}, {4, 9}, {6, 13}})
	round(h, k3, [8]step{{3, 3}, {7, 9}, {2, 11}, {6, 15}, {1, 3}, {5, 9}, {0, 11}, {4, 15}})
	buf[0] += a
	buf[1] += b
	buf[2] += c
	buf[3] += d
}

// dirHash computes the major hash of name for hash version ver with the
// filesystem's seed (the default MD4 constants when the seed is zero). ok
// is false for a version it does not know (siphash needs casefolding).
func (f *FS) dirHash(name []byte, ver uint8) (hash uint32, ok bool) {
	buf := [4]uint32{0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476}
	if f.hashSeed != [4]uint32{} {
		buf = f.hashSeed
	}
	var in [8]uint32
	switch ver {
	case hashLegacy, hashLegacyUnsigned:
		hash = legacyHash(name, ver == hashLegacyUnsigned)
	case hashHalfMD4, hashHalfMD4Unsigned:
		for p := name; ; p = p[32:] {
			strToHashBuf(p, len(p), in[:8], ver == hashHalfMD4Unsigned)
			halfMD4Transform(&buf, in[:8])
			if len(p) <= 32 {
				break
			}
		}
		hash = buf[1]
	case hashTea, hashTeaUnsigned:
		for p := name; ; p = p[16:] {
			strToHashBuf(p, len(p), in[:4], ver == hashTeaUnsigned)
			teaTransform(&buf, in[:4])
			if len(p) <= 16 {
				break
			}
		}
		hash = buf[0]
	default:
		return 0, false
	}
	hash &^= 1
	if hash == 0x7fffffff<<1 {
		hash = (0x7fffffff - 1) << 1
	}
	return hash, true
}
