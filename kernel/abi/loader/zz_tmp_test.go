package loader

import (
	"bytes"
	"encoding/binary"
	"math/rand"
	"testing"
	"time"

	"github.com/gosv/gosv/internal/elfexec"
)

func TestZZTmp(t *testing.T) {
	seeds := [][]byte{
		synthELF(elfexec.ET_EXEC, 0x401004, []synthSeg{{0x401000, 0x1800, 0x1800, rx}, {0x402800, 0x100, 0x3000, rw}}),
		synthELF(elfexec.ET_DYN, 0x204, []synthSeg{{0x100, 0x10, 0x10, r}, {0x200, 0x10, 0x20, rx}, {0x400, 0x10, 0x1000, rw}}),
	}
	rng := rand.New(rand.NewSource(1))
	vals := []uint64{0, 1, 0x1000, 0xfff, 1 << 32, 1 << 45, AppLimit, AppLimit - 1, ^uint64(0), 0x400000, 0x10000000}
	for i := 0; i < 200000; i++ {
		b := bytes.Clone(seeds[rng.Intn(len(seeds))])
		for k := rng.Intn(4); k >= 0; k-- {
			off := rng.Intn(len(b) - 8)
			if off < 64+56*3 {
				binary.LittleEndian.PutUint64(b[off:], vals[rng.Intn(len(vals))]+uint64(rng.Intn(3))-1)
			} else {
				b[off] ^= byte(rng.Intn(256))
			}
		}
		base := vals[rng.Intn(len(vals))] &^ 0xfff
		mem := newFakeMemory()
		mem.maxSize = 16 << 20
		st := time.Now()
		_, err := Load(mem, bytes.NewReader(b), int64(len(b)), base)
		if d := time.Since(st); d > 50*time.Millisecond {
			t.Logf("slow %v: %v base %#x pages %d", d, err, base, len(mem.pages))
		}
	}
}
