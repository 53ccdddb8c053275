package kbuild

import (
	"encoding/binary"
	"testing"
)

func fuzzSeeds(f *testing.F) {
	syn := synthELF()
	f.Add(syn)
	f.Add(syn[:100])
	f.Add(syn[:synTextEnd])
	if out, err := Patch(syn, PatchOptions{}); err == nil {
		f.Add(out)
	}
	big := append([]byte(nil), syn...)
	binary.LittleEndian.PutUint16(big[60:], 0) // extended section numbering
	f.Add(big)
	f.Add([]byte("\x7fELF\x02\x01\x01"))
}

// FuzzPatch: Patch never panics, and a successful Patch keeps the length.
func FuzzPatch(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := Patch(in, PatchOptions{})
		if err == nil && len(out) != len(in) {
			t.Fatalf("output %d bytes, input %d", len(out), len(in))
		}
	})
}

// FuzzCheckLevel0: the guard never panics.
func FuzzCheckLevel0(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		CheckLevel0(in, []string{"github.com/gosv/gosv/kernel/machine.", "runtime."})
	})
}
