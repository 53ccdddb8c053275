package elf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Auxiliary vector entry types (psABI 3.4 "Auxiliary Vector"; the numbers
// are Linux's, include/uapi/linux/auxvec.h and arch/x86/include/uapi/asm/
// auxvec.h).
const (
	AT_NULL          = 0  // end of vector
	AT_IGNORE        = 1  // entry to ignore
	AT_EXECFD        = 2  // file descriptor of the program
	AT_PHDR          = 3  // program headers of the program in memory
	AT_PHENT         = 4  // size of one program header entry
	AT_PHNUM         = 5  // number of program headers
	AT_PAGESZ        = 6  // system page size
	AT_BASE          = 7  // base address of the interpreter
	AT_FLAGS         = 8  // flags (0)
	AT_ENTRY         = 9  // entry point of the program
	AT_NOTELF        = 10 // program is not ELF
	AT_UID           = 11 // real uid
	AT_EUID          = 12 // effective uid
	AT_GID           = 13 // real gid
	AT_EGID          = 14 // effective gid
	AT_PLATFORM      = 15 // address of the platform string ("x86_64")
	AT_HWCAP         = 16 // CPUID.1:EDX feature bits
	AT_CLKTCK        = 17 // frequency of times() ticks
	AT_SECURE        = 23 // secure mode (setuid-like) boolean
	AT_BASE_PLATFORM = 24 // address of the real platform string
	AT_RANDOM        = 25 // address of 16 random bytes
	AT_HWCAP2        = 26 // extended hardware capabilities
	AT_EXECFN        = 31 // address of the file name of the program
	AT_SYSINFO_EHDR  = 33 // address of the vDSO's ELF header
	AT_MINSIGSTKSZ   = 51 // minimal signal stack size
)

// Values of the constant entries produced by Auxv.
const (
	AuxPageSize = PageSize // AT_PAGESZ
	AuxClkTck   = 100      // AT_CLKTCK: Linux's USER_HZ
)

// Platform is the AT_PLATFORM string of x86-64 Linux (ELF_PLATFORM).
const Platform = "x86_64"

// MaxArgStrLen is the largest argument or environment string, NUL
// included, that BuildStack accepts (Linux's MAX_ARG_STRLEN, 32 pages).
const MaxArgStrLen = 32 * PageSize

// Aux is one auxiliary vector entry, stored on the stack as two 8-byte
// little-endian words: a_type then a_val (psABI 3.4, "Auxiliary Vector",
// the auxv_t type).
type Aux struct {
	Type, Val uint64
}

// Auxv returns the auxiliary vector that Linux's create_elf_tables
// (fs/binfmt_elf.c) gives a program, in Linux's order:
//
//	AT_HWCAP     hwcap
//	AT_PAGESZ    4096
//	AT_CLKTCK    100
//	AT_PHDR      img.PHdrAddr
//	AT_PHENT     img.PHEnt (56)
//	AT_PHNUM     img.PHNum
//	AT_BASE      interpBase (load bias of the interpreter; 0 without one)
//	AT_FLAGS     0
//	AT_ENTRY     img.Entry (the program's entry, not the interpreter's)
//	AT_UID, AT_EUID, AT_GID, AT_EGID  0
//	AT_SECURE    0
//	AT_RANDOM    0, filled by BuildStack
//	AT_HWCAP2    hwcap2
//	AT_EXECFN    0, filled by BuildStack
//	AT_PLATFORM  0, filled by BuildStack
//
// img is the program's image (not the interpreter's). The terminating
// AT_NULL is added by BuildStack. Entries Linux adds for features gosv does
// not have yet (AT_SYSINFO_EHDR and AT_MINSIGSTKSZ first, AT_RSEQ_* last)
// are left out; callers may insert them.
func Auxv(img *Image, interpBase uint64, hwcap, hwcap2 uint64) []Aux {
	return []Aux{
		{AT_HWCAP, hwcap},
		{AT_PAGESZ, AuxPageSize},
		{AT_CLKTCK, AuxClkTck},
		{AT_PHDR, img.PHdrAddr},
		{AT_PHENT, img.PHEnt},
		{AT_PHNUM, img.PHNum},
		{AT_BASE, interpBase},
		{AT_FLAGS, 0},
		{AT_ENTRY, img.Entry},
		{AT_UID, 0},
		{AT_EUID, 0},
		{AT_GID, 0},
		{AT_EGID, 0},
		{AT_SECURE, 0},
		{AT_RANDOM, 0},
		{AT_HWCAP2, hwcap2},
		{AT_EXECFN, 0},
		{AT_PLATFORM, 0},
	}
}

// BuildStack lays out the initial process stack of psABI 3.4.1 ("Initial
// Stack and Register State", figure "Initial Process Stack") in the order
// Linux uses (fs/exec.c copies the strings, fs/binfmt_elf.c
// create_elf_tables writes the rest). top is the exclusive upper end of the stack and must be
// 16-byte aligned. From high to low addresses:
//
//	top-8            8 zero bytes (Linux's end marker)
//	                 execfn, NUL-terminated
//	                 envp[0] ... envp[n-1], each NUL-terminated, ascending,
//	                 without gaps
//	                 argv[0] ... argv[argc-1], likewise, just below
//	                 padding down to a multiple of 16
//	                 platform, NUL-terminated (left out when "")
//	                 padding down to a multiple of 16
//	                 random: 16 bytes (AT_RANDOM points here)
//	                 padding so that sp is a multiple of 16
//	                 auxv: (a_type, a_val) 8-byte pairs, ending in (AT_NULL, 0)
//	                 0
//	                 envp pointers (n words)
//	                 0
//	                 argv pointers (argc words)
//	sp               argc (8 bytes)
//
// All words are little-endian 8-byte values. BuildStack fills the values of
// the AT_RANDOM, AT_EXECFN and AT_PLATFORM entries of auxv with the
// addresses of the bytes it placed, appends those entries in that order when
// auxv lacks them, removes AT_PLATFORM when platform is "", and appends the
// terminating AT_NULL (an AT_NULL already at the end of auxv is dropped; one
// elsewhere is an error). image holds the bytes of [sp, top); the caller
// copies it to memory and starts the program with RSP = sp (and RDX = 0,
// psABI 3.4.1).
//
// Strings may not contain NUL bytes and may be at most MaxArgStrLen bytes
// with their NUL.
func BuildStack(top uint64, argv, envp []string, auxv []Aux, execfn, platform string, random [16]byte) (sp uint64, image []byte, err error) {
	if top%16 != 0 {
		return 0, nil, fmt.Errorf("stack top %#x is not 16-byte aligned", top)
	}
	check := func(what string, i int, s string) error {
		name := what
		if i >= 0 {
			name = fmt.Sprintf("%s[%d]", what, i)
		}
		if strings.IndexByte(s, 0) >= 0 {
			return fmt.Errorf("%s contains a NUL byte", name)
		}
		if len(s)+1 > MaxArgStrLen {
			return fmt.Errorf("%s is %d bytes long, more than %d", name, len(s)+1, MaxArgStrLen)
		}
		return nil
	}
	strBytes := uint64(len(execfn) + 1)
	if err := check("execfn", -1, execfn); err != nil {
		return 0, nil, err
	}
	if err := check("platform", -1, platform); err != nil {
		return 0, nil, err
	}
	for i, s := range argv {
		if err := check("argv", i, s); err != nil {
			return 0, nil, err
		}
		strBytes += uint64(len(s) + 1)
	}
	for i, s := range envp {
		if err := check("envp", i, s); err != nil {
			return 0, nil, err
		}
		strBytes += uint64(len(s) + 1)
	}

	// The auxiliary vector with the entries BuildStack owns.
	aux := make([]Aux, 0, len(auxv)+4)
	var haveRandom, haveExecfn, havePlatform bool
	for i, a := range auxv {
		if a.Type == AT_NULL {
			if i != len(auxv)-1 {
				return 0, nil, fmt.Errorf("auxv[%d] is AT_NULL before the end of the vector", i)
			}
			break
		}
		switch a.Type {
		case AT_RANDOM:
			haveRandom = true
		case AT_EXECFN:
			haveExecfn = true
		case AT_PLATFORM:
			havePlatform = true
			if platform == "" {
				continue
			}
		}
		aux = append(aux, a)
	}
	if !haveRandom {
		aux = append(aux, Aux{Type: AT_RANDOM})
	}
	if !haveExecfn {
		aux = append(aux, Aux{Type: AT_EXECFN})
	}
	if !havePlatform && platform != "" {
		aux = append(aux, Aux{Type: AT_PLATFORM})
	}
	aux = append(aux, Aux{Type: AT_NULL})

	// Addresses, from the top down.
	argc := uint64(len(argv))
	envc := uint64(len(envp))
	words := 1 + argc + 1 + envc + 1 + 2*uint64(len(aux))
	platBytes := uint64(0)
	if platform != "" {
		platBytes = uint64(len(platform)+1+15) &^ 15
	}
	need := 8 + strBytes + 15 + platBytes + 16 + 8*words + 15
	if top < need {
		return 0, nil, errors.New("stack top too low for the arguments")
	}
	p := top - 8
	execfnAddr := p - uint64(len(execfn)+1)
	p = execfnAddr
	envAddr := make([]uint64, envc)
	var envBytes uint64
	for _, s := range envp {
		envBytes += uint64(len(s) + 1)
	}
	p -= envBytes
	q := p
	for i, s := range envp {
		envAddr[i] = q
		q += uint64(len(s) + 1)
	}
	argBytes := strBytes - envBytes - uint64(len(execfn)+1)
	p -= argBytes
	argAddr := make([]uint64, argc)
	q = p
	for i, s := range argv {
		argAddr[i] = q
		q += uint64(len(s) + 1)
	}
	p &^= 15
	var platAddr uint64
	if platform != "" {
		p -= uint64(len(platform) + 1)
		platAddr = p
		p &^= 15
	}
	p -= 16
	randAddr := p
	sp = (p - 8*words) &^ 15

	image = make([]byte, top-sp)
	le := binary.LittleEndian
	put := func(addr uint64, s string) { copy(image[addr-sp:], s) } // NULs are already there
	put(execfnAddr, execfn)
	for i, s := range envp {
		put(envAddr[i], s)
	}
	for i, s := range argv {
		put(argAddr[i], s)
	}
	if platform != "" {
		put(platAddr, platform)
	}
	copy(image[randAddr-sp:], random[:])

	w := image
	word := func(v uint64) { le.PutUint64(w, v); w = w[8:] }
	word(argc)
	for _, a := range argAddr {
		word(a)
	}
	word(0)
	for _, a := range envAddr {
		word(a)
	}
	word(0)
	for _, a := range aux {
		switch a.Type {
		case AT_RANDOM:
			a.Val = randAddr
		case AT_EXECFN:
			a.Val = execfnAddr
		case AT_PLATFORM:
			a.Val = platAddr
		}
		word(a.Type)
		word(a.Val)
	}
	return sp, image, nil
}
