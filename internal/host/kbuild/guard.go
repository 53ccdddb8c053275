package kbuild

import (
	"debug/elf"
	"fmt"
	"sort"
	"strings"

	"golang.org/x/arch/x86/x86asm"
)

// DefaultLevel0Prefix selects the level-0 functions (the machine layer) when
// CheckLevel0 is given no prefixes.
const DefaultLevel0Prefix = "github.com/gosv/gosv/kernel/machine."

// Violation is one call or jump from a level-0 function to a runtime function
// that level 0 must not reach.
type Violation struct {
	Function string // .symtab name of the level-0 function
	Offset   uint64 // offset of the CALL/JMP/Jcc instruction from the function's start
	Addr     uint64 // virtual address of the instruction
	Target   string // name of the function branched to, "+0x.." when not at its start
	Reason   string // "stack growth", "write barrier", "allocation" or "panic"
}

func (v Violation) String() string {
	return fmt.Sprintf("%s+%#x (%#x): calls %s (%s)", v.Function, v.Offset, v.Addr, v.Target, v.Reason)
}

// forbidden lists the runtime functions level 0 must not call. A name
// matches an entry when it equals it or, for entries ending in "*", starts
// with the part before the "*". An ".abi0" suffix of the target is ignored.
var forbidden = []struct{ pattern, reason string }{
	{"runtime.morestack*", "stack growth"}, // morestack, morestack_noctxt
	{"runtime.gcWriteBarrier*", "write barrier"},
	{"runtime.wbZero", "write barrier"},
	{"runtime.wbMove", "write barrier"},
	{"runtime.typedmemmove", "write barrier"},
	{"runtime.typedslicecopy", "write barrier"},
	{"runtime.bulkBarrierPreWrite*", "write barrier"},
	{"runtime.mallocgc*", "allocation"},
	{"runtime.newobject", "allocation"},
	{"runtime.newarray", "allocation"},
	{"runtime.growslice", "allocation"},
	{"runtime.makeslice*", "allocation"},
	{"runtime.makemap*", "allocation"},
	{"runtime.convT*", "allocation"}, // interface conversions
	{"runtime.panic*", "panic"},      // bounds, nil, divide, ... checks
	{"runtime.gopanic", "panic"},     // panic(x)
}

// forbiddenReason returns why calling the function name is forbidden in
// level 0, or "" when it is allowed.
func forbiddenReason(name string) string {
	name = strings.TrimSuffix(name, ".abi0")
	for _, f := range forbidden {
		if p, ok := strings.CutSuffix(f.pattern, "*"); ok {
			if strings.HasPrefix(name, p) {
				return f.reason
			}
		} else if name == f.pattern {
			return f.reason
		}
	}
	return ""
}

// CheckLevel0 is the level-0 guard (BRINGUP.md, "Restricted code (level 0)"). It
// disassembles, in 64-bit mode, every STT_FUNC symbol of elfBytes's .symtab
// whose name starts with one of prefixes (DefaultLevel0Prefix when prefixes
// is empty), over the st_size bytes at st_value, and reports every CALL, JMP
// or Jcc with a relative target that lands in one of these runtime
// functions:
//
//   - runtime.morestack* (stack growth: the function has a stack check),
//   - runtime.gcWriteBarrier*, runtime.wbZero, runtime.wbMove,
//     runtime.typedmemmove, runtime.typedslicecopy,
//     runtime.bulkBarrierPreWrite* (GC write barriers),
//   - runtime.mallocgc*, runtime.newobject, runtime.newarray,
//     runtime.growslice, runtime.makeslice*, runtime.makemap*,
//     runtime.convT* (allocation),
//   - runtime.panic*, runtime.gopanic (panics, including bounds checks).
//
// ABI wrappers are checked like any other function: an assembly function's
// body is named NAME.abi0 and its Go-callable wrapper NAME. Targets are
// resolved to the STT_FUNC symbol that contains them. The result is ordered
// by function address, then offset. Both unpatched and patched kernels are
// accepted (only sections and symbols are read). It is an error when no
// function matches the prefixes, so a misspelt prefix cannot pass silently.
func CheckLevel0(elfBytes []byte, prefixes []string) ([]Violation, error) {
	if len(prefixes) == 0 {
		prefixes = []string{DefaultLevel0Prefix}
	}
	f, err := parseELF(elfBytes)
	if err != nil {
		return nil, err
	}
	syms, err := f.symbols()
	if err != nil {
		return nil, err
	}
	var funcs []sym
	for _, s := range syms {
		if s.typ == elf.STT_FUNC {
			funcs = append(funcs, s)
		}
	}
	sort.SliceStable(funcs, func(i, j int) bool { return funcs[i].value < funcs[j].value })

	// symbolAt names the function that contains addr.
	symbolAt := func(addr uint64) string {
		i := sort.Search(len(funcs), func(i int) bool { return funcs[i].value > addr }) - 1
		if i >= 0 {
			v := funcs[i].value
			for j := i; j >= 0 && funcs[j].value == v; j-- {
				if addr == v {
					return funcs[j].name
				}
				if addr-v < funcs[j].size {
					return fmt.Sprintf("%s+%#x", funcs[j].name, addr-v)
				}
			}
		}
		return fmt.Sprintf("%#x", addr)
	}

	var out []Violation
	matched := 0
	for _, s := range funcs {
		if !hasAnyPrefix(s.name, prefixes) {
			continue
		}
		matched++
		code, err := f.funcBytes(&s)
		if err != nil {
			return nil, err
		}
		for off := 0; off < len(code); {
			inst, err := x86asm.Decode(code[off:], 64)
			if err != nil || inst.Len <= 0 {
				off++ // undecodable byte: resynchronise on the next one
				continue
			}
			pc := s.value + uint64(off)
			next := pc + uint64(inst.Len)
			off += inst.Len
			rel, ok := inst.Args[0].(x86asm.Rel)
			if !ok {
				continue
			}
			target := next + uint64(int64(rel))
			name := symbolAt(target)
			if why := forbiddenReason(strings.SplitN(name, "+", 2)[0]); why != "" {
				out = append(out, Violation{
					Function: s.name,
					Offset:   pc - s.value,
					Addr:     pc,
					Target:   name,
					Reason:   why,
				})
			}
		}
	}
	if matched == 0 {
		return nil, kerr("no function symbols match the level-0 prefixes %q", prefixes)
	}
	return out, nil
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// funcBytes returns the st_size bytes of a function symbol from the section
// it is defined in.
func (f *elfFile) funcBytes(s *sym) ([]byte, error) {
	if s.size == 0 {
		return nil, nil
	}
	if s.shndx == uint16(elf.SHN_UNDEF) || s.shndx >= shnLoReser || int(s.shndx) >= len(f.sects) {
		return nil, kerr("function %q: section index %d is not a section of the file", s.name, s.shndx)
	}
	sec := &f.sects[s.shndx]
	if sec.typ == elf.SHT_NOBITS || s.value < sec.addr || s.value-sec.addr > sec.size || s.size > sec.size-(s.value-sec.addr) {
		return nil, kerr("function %q [%#x, +%#x) is not inside the contents of section %q", s.name, s.value, s.size, sec.name)
	}
	data, err := f.sectData(sec)
	if err != nil {
		return nil, err
	}
	start := s.value - sec.addr
	return data[start : start+s.size], nil
}
