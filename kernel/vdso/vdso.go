// Package vdso holds gosv's virtual dynamic shared object: the small ELF
// shared library that the kernel maps into every app and names in the
// auxiliary vector (AT_SYSINFO_EHDR), so that glibc, musl and Go read the
// clock (clock_gettime, gettimeofday, time, clock_getres) and the CPU number
// (getcpu) without a system call, as they do on Linux (vdso(7)).
//
// The library is built from src/vdso.c and src/vdso.lds by gcc (see
// GCCArgs; the sources live in src/ because the go command refuses C files
// in a package without cgo) and
// committed as vdso.so; TestImageUpToDate rebuilds it and fails when the
// committed bytes are stale (`go generate ./kernel/vdso` refreshes them).
// Its functions read the TSC and a small block of clock parameters (struct
// vvar in vdso.c) inside the image's own read-only data; Image patches the
// kernel's values into a copy of the library before the copy is mapped.
// The parameters are fixed at boot (the kernel's clock is TSC-based and
// cannot be set), so a per-process copy stays correct.
package vdso

//go:generate go test -run TestImageUpToDate -update .

import (
	"bytes"
	_ "embed"
	"encoding/binary"
	"errors"
)

//go:embed vdso.so
var image []byte

// GCCArgs are the gcc arguments (after "gcc", run in src/) that
// build vdso.so: position-independent, no libc, no stack protector or
// unwind tables, the layout of vdso.lds, both hash-table styles (musl reads
// only DT_HASH), no build id and no symbol table, so the bytes depend only
// on the sources and the compiler.
var GCCArgs = []string{
	"-O2", "-fPIC", "-shared", "-nostdlib", "-fno-stack-protector", "-fno-asynchronous-unwind-tables",
	"-mno-red-zone", "-fcf-protection=none",
	"-Wl,-T,vdso.lds", "-Wl,--hash-style=both", "-Wl,--build-id=none", "-Wl,-soname,linux-vdso.so.1", "-Wl,-s",
	"-o", "vdso.so", "vdso.c",
}

// Params are the kernel's clock parameters (struct vvar in vdso.c):
// monotonic ns = (TSC - BootTSC) * Mult >> 32, Unix ns = WallBootNs +
// monotonic ns.
type Params struct {
	BootTSC    uint64
	Mult       uint64
	WallBootNs int64
	// RDTSCP says that every CPU's IA32_TSC_AUX holds its CPU number, so
	// getcpu can use RDTSCP; otherwise it makes the system call.
	RDTSCP bool
}

// magic marks struct vvar in the unpatched image ("gosvvvar").
var magic = []byte("gosvvvar")

// vvarOffset is the offset of struct vvar in image.
var vvarOffset = func() int {
	i := bytes.Index(image, magic)
	if i < 0 || bytes.Index(image[i+1:], magic) >= 0 {
		return -1
	}
	return i
}()

// Size is the length of the image in bytes.
func Size() int { return len(image) }

// Image returns a copy of the vDSO with p patched in.
func Image(p Params) ([]byte, error) {
	if vvarOffset < 0 {
		return nil, errors.New("vdso: no unique vvar block in the image")
	}
	b := append([]byte(nil), image...)
	v := b[vvarOffset:]
	le := binary.LittleEndian
	le.PutUint64(v[8:], p.BootTSC)
	le.PutUint64(v[16:], p.Mult)
	le.PutUint64(v[24:], uint64(p.WallBootNs))
	var flags uint64
	if p.RDTSCP {
		flags |= 1
	}
	le.PutUint64(v[32:], flags)
	return b, nil
}
