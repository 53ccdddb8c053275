package task

import (
	"bytes"
	"crypto/rand"
	"debug/elf"
	"fmt"
	"io"
	"sort"

	"github.com/gosv/gosv/internal/elfexec"
	kelf "github.com/gosv/gosv/kernel/elf"
	"github.com/gosv/gosv/kernel/vfs"
	"golang.org/x/sys/unix"
)

// ContextMaker creates app thread contexts (machine.NewAppContext in the
// kernel; a plain struct in tests).

// loaderMem adapts the process memory map to kelf.Memory.
type loaderMem struct {
	p    *Process
	name string
}

func (m loaderMem) Map(addr, n uint64, prot kelf.Prot) error {
	_, err := m.p.MM.Map(uintptr(addr), uintptr(n), int(prot), unix.MAP_PRIVATE|unix.MAP_FIXED, m.name)
	return err
}

func (m loaderMem) Protect(addr, n uint64, prot kelf.Prot) error {
	return m.p.MM.Protect(uintptr(addr), uintptr(n), int(prot))
}

func (m loaderMem) Write(addr uint64, b []byte) error { return m.p.Mem.CopyOut(uintptr(addr), b) }

// readFile reads a whole guest file.
func (p *Process) readFile(path string) ([]byte, error) {
	f, _, err := p.FS.Open(vfs.RootContext, vfs.Loc{}, path, unix.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return nil, unix.EISDIR
	}
	buf := make([]byte, st.Size)
	n, err := f.Pread(buf, 0)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

// ExecError says why the executable could not be started.
type ExecError struct {
	Path string
	Err  error
}

func (e *ExecError) Error() string { return fmt.Sprintf("cannot execute %s: %v", e.Path, e.Err) }

// Exec loads the executable at the guest path and its interpreter (for
// dynamically linked programs), builds the initial stack (argv, envp,
// auxv) and returns the main task, ready for Loop.
func (p *Process) Exec(path string, argv, envp []string) (*Task, error) {
	bin, err := p.readFile(path)
	if err != nil {
		return nil, &ExecError{path, err}
	}
	info, err := elfexec.Inspect(bytes.NewReader(bin), int64(len(bin)))
	if err != nil {
		return nil, &ExecError{path, err}
	}
	img, err := kelf.Load(loaderMem{p, path}, bytes.NewReader(bin), int64(len(bin)), kelf.ChooseBase(info, false))
	if err != nil {
		return nil, &ExecError{path, err}
	}
	entry, interpBase := img.Entry, uint64(0)
	if img.Interp != "" {
		ibin, err := p.readFile(img.Interp)
		if err != nil {
			return nil, &ExecError{path, fmt.Errorf("interpreter %s: %v", img.Interp, err)}
		}
		iinfo, err := elfexec.Inspect(bytes.NewReader(ibin), int64(len(ibin)))
		if err != nil {
			return nil, &ExecError{path, fmt.Errorf("interpreter %s: %v", img.Interp, err)}
		}
		iimg, err := kelf.Load(loaderMem{p, img.Interp}, bytes.NewReader(ibin), int64(len(ibin)), kelf.ChooseBase(iinfo, true))
		if err != nil {
			return nil, &ExecError{path, fmt.Errorf("interpreter %s: %v", img.Interp, err)}
		}
		entry, interpBase = iimg.Entry, iimg.Base
	}
	p.MM.SetBrk(uintptr(img.BrkStart))
	p.ExePath, p.Argv, p.Envp = path, argv, envp
	p.exeBase = img.Base

	if _, err := p.MM.Map(StackTop-StackSize, StackSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_FIXED|unix.MAP_GROWSDOWN, "[stack]"); err != nil {
		return nil, &ExecError{path, err}
	}
	var random [16]byte
	io.ReadFull(rand.Reader, random[:])
	auxv := kelf.Auxv(img, interpBase, p.K.Plat.HWCap, p.K.Plat.HWCap2)
	if vd := p.K.Plat.VDSO; vd != nil {
		addr, err := p.mapVDSO(vd)
		if err != nil {
			return nil, &ExecError{path, err}
		}
		// Linux puts AT_SYSINFO_EHDR first.
		auxv = append([]kelf.Aux{{Type: kelf.AT_SYSINFO_EHDR, Val: uint64(addr)}}, auxv...)
	}
	sp, stack, err := kelf.BuildStack(StackTop, argv, envp, auxv, path, kelf.Platform, random)
	if err != nil {
		return nil, &ExecError{path, err}
	}
	if err := p.Mem.CopyOut(uintptr(sp), stack); err != nil {
		return nil, &ExecError{path, err}
	}
	t := p.NewTask()
	t.Ctx = p.K.Plat.NewContext(entry, sp)
	return t, nil
}

// mapVDSO maps a copy of image read+execute at an address the mmap
// allocator chooses, as the "[vdso]" mapping.
func (p *Process) mapVDSO(image []byte) (uintptr, error) {
	n := PageUp(uintptr(len(image)))
	addr, err := p.MM.Map(0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS, "[vdso]")
	if err != nil {
		return 0, err
	}
	if err := p.Mem.CopyOut(addr, image); err != nil {
		return 0, err
	}
	return addr, p.MM.Protect(addr, n, unix.PROT_READ|unix.PROT_EXEC)
}

// symbols parses the executable's symbol table the first time a crash
// report needs it (parsing it at exec would slow every start).
func (p *Process) symbols() *Symbols {
	p.symOnce.Do(func() {
		if bin, err := p.readFile(p.ExePath); err == nil {
			p.syms = readSymbols(bin, p.exeBase)
		}
	})
	return p.syms
}

// Symbols maps app addresses to function names from the ELF symbol table.
type Symbols struct {
	addrs []uint64
	names []string
	sizes []uint64
}

func readSymbols(bin []byte, base uint64) *Symbols {
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		return nil
	}
	syms, err := f.Symbols()
	if err != nil {
		return nil
	}
	sort.Slice(syms, func(i, j int) bool { return syms[i].Value < syms[j].Value })
	s := &Symbols{}
	for _, sym := range syms {
		if elf.ST_TYPE(sym.Info) != elf.STT_FUNC || sym.Value == 0 {
			continue
		}
		s.addrs = append(s.addrs, sym.Value+base)
		s.names = append(s.names, sym.Name)
		s.sizes = append(s.sizes, sym.Size)
	}
	return s
}

// Lookup returns "name+0xoff" for pc, or "" when unknown.
func (s *Symbols) Lookup(pc uint64) string {
	if s == nil {
		return ""
	}
	i := sort.Search(len(s.addrs), func(i int) bool { return s.addrs[i] > pc }) - 1
	if i < 0 || (s.sizes[i] != 0 && pc >= s.addrs[i]+s.sizes[i]) {
		return ""
	}
	return fmt.Sprintf("%s+%#x", s.names[i], pc-s.addrs[i])
}
