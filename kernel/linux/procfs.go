package linux

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gosv/gosv/kernel/fsimpl/kernfs"
	"github.com/gosv/gosv/kernel/fsimpl/procfs"
	"github.com/gosv/gosv/kernel/fsimpl/sysfs"
	"github.com/gosv/gosv/kernel/task"
	"github.com/gosv/gosv/kernel/vfs"
	"golang.org/x/sys/unix"
)

// The process files of /proc (kernel/fsimpl/procfs), built on demand from
// the process state. The app is pid 1: /proc/self and /proc/1 are the
// same directory.

// The CPU description of /proc/cpuinfo; the flags are CPUID.1:EDX's,
// from the platform's HWCap.
const (
	cpuVendor    = "GenuineIntel"
	cpuModelName = "gosv virtual CPU"
)

// bootID is /proc/sys/kernel/random/boot_id.
var bootID = newUUID()

func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// ProcFS returns a /proc for p (kernel/fsimpl/procfs) to mount.
func ProcFS(p *task.Process) *kernfs.FS {
	return procfs.New(procfs.Root{
		List: func(ctx vfs.Context) []*kernfs.Node { return procList(p, ctx) },
		Find: func(ctx vfs.Context, name string) *kernfs.Node { return procFind(p, ctx, name) },
	})
}

// SysFS returns a /sys to mount (kernel/fsimpl/sysfs).
func SysFS(k *task.Kernel) *kernfs.FS { return sysfs.New(func() int { return k.Plat.NumCPU }) }

// Shorthands for kernfs nodes.
var (
	pdir    = kernfs.Dir
	ptext   = kernfs.Text
	plinkTo = kernfs.SymlinkTo
)

func pfile(name string, mode uint32, data func() []byte) *kernfs.Node {
	return kernfs.Reg(name, mode, func(vfs.Context) []byte { return data() })
}

func plink(name string, link func() (string, error)) *kernfs.Node {
	return kernfs.Symlink(name, func(vfs.Context) (string, error) { return link() })
}

func nodeList(ns ...*kernfs.Node) func(vfs.Context) []*kernfs.Node {
	return func(vfs.Context) []*kernfs.Node { return ns }
}

// procSys is /proc/sys.
func procSys() *kernfs.Node {
	return pdir("sys", 0o555, nodeList(
		pdir("kernel", 0o555, func(vfs.Context) []*kernfs.Node {
			return []*kernfs.Node{
				ptext("osrelease", UnameRelease+"\n"),
				ptext("ostype", UnameSysname+"\n"),
				ptext("hostname", UnameNodename+"\n"),
				ptext("version", UnameVersion+"\n"),
				ptext("pid_max", "4194304\n"),
				ptext("ngroups_max", "65536\n"),
				pdir("random", 0o555, nodeList(
					ptext("boot_id", bootID+"\n"),
					pfile("uuid", 0o444, func() []byte { return []byte(newUUID() + "\n") }),
				)),
			}
		}),
		pdir("vm", 0o555, nodeList(ptext("overcommit_memory", "0\n"))),
		pdir("fs", 0o555, nodeList(ptext("nr_open", "1048576\n"), ptext("file-max", "9223372036854775807\n"))),
	))
}

// procList lists /proc for the caller ctx.
func procList(p *task.Process, ctx vfs.Context) []*kernfs.Node {
	return []*kernfs.Node{
		procPidDir(p, "1", p.Pid(), true),
		plinkTo("self", "1"),
		kernfs.Symlink("thread-self", func(ctx vfs.Context) (string, error) {
			tid := p.Pid()
			if ctx != nil && ctx.ThreadID() != 0 {
				tid = ctx.ThreadID()
			}
			return "1/task/" + strconv.Itoa(tid), nil
		}),
		pfile("cpuinfo", 0o444, func() []byte { return procCPUInfo(&p.K.Plat) }),
		pfile("meminfo", 0o444, func() []byte { return procMeminfo(&p.K.Plat) }),
		pfile("uptime", 0o444, func() []byte { return procUptime(&p.K.Plat) }),
		pfile("version", 0o444, func() []byte {
			return []byte(fmt.Sprintf("Linux version %s (gosv@gosv) (go) %s\n", UnameRelease, UnameVersion))
		}),
		ptext("filesystems", "nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tdevtmpfs\nnodev\tramfs\nnodev\tpipefs\n"),
		pfile("stat", 0o444, func() []byte { return procStat(p) }),
		pfile("loadavg", 0o444, func() []byte {
			return []byte(fmt.Sprintf("0.00 0.00 0.00 1/%d %d\n", len(tids(p)), lastTID(p)))
		}),
		plinkTo("mounts", "self/mounts"),
		procSys(),
	}
}

// procFind looks an entry of /proc up: the pid directory without listing
// the rest.
func procFind(p *task.Process, ctx vfs.Context, name string) *kernfs.Node {
	if name == strconv.Itoa(p.Pid()) {
		return procPidDir(p, name, p.Pid(), true)
	}
	for _, c := range procList(p, ctx) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// procPidDir is /proc/1 (process) or /proc/1/task/TID (thread).
func procPidDir(p *task.Process, name string, tid int, process bool) *kernfs.Node {
	list := func(vfs.Context) []*kernfs.Node {
		out := []*kernfs.Node{
			plink("exe", func() (string, error) {
				if p.ExePath == "" {
					return "", unix.ENOENT
				}
				return p.ExePath, nil
			}),
			plink("cwd", func() (string, error) { return p.FS.Getcwd() }),
			plinkTo("root", "/"),
			procFdDir(p),
			procFdinfoDir(p),
			pfile("maps", 0o444, func() []byte { return procMaps(p) }),
			pfile("cmdline", 0o444, func() []byte { return nulJoin(p.Argv) }),
			pfile("environ", 0o400, func() []byte { return nulJoin(p.Envp) }),
			pfile("stat", 0o444, func() []byte { return procPidStat(p, tid) }),
			pfile("status", 0o444, func() []byte { return procStatus(p, tid) }),
			commNode(p, tid),
			procOomScoreAdj(),
		}
		out = append(out, procfs.MountFiles(p.FS.NS)...)
		if process {
			out = append(out, pdir("task", 0o555, func(vfs.Context) []*kernfs.Node {
				var ts []*kernfs.Node
				for _, id := range tids(p) {
					ts = append(ts, procPidDir(p, strconv.Itoa(id), id, false))
				}
				return ts
			}))
		}
		return out
	}
	return pdir(name, 0o555, list)
}

// commNode is /proc/N/comm: the thread name, which a write changes (up to
// 15 bytes, as comm_write).
func commNode(p *task.Process, tid int) *kernfs.Node {
	n := pfile("comm", 0o644, func() []byte { return []byte(comm(p, tid) + "\n") })
	n.Write = func(ctx vfs.Context, b []byte) (int, error) {
		name := b[:min(len(b), taskCommLen-1)]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		if target := p.Task(tid); target != nil {
			SetComm(target, string(name))
		}
		return len(b), nil
	}
	return n
}

// procOomScoreAdj is /proc/N/oom_score_adj: writes of -1000..1000 are
// accepted (there is no OOM killer) and it reads 0.
func procOomScoreAdj() *kernfs.Node {
	n := ptext("oom_score_adj", "0\n")
	n.Mode = vfs.S_IFREG | 0o644
	n.Write = func(ctx vfs.Context, b []byte) (int, error) {
		v, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || v < -1000 || v > 1000 {
			return 0, unix.EINVAL
		}
		return len(b), nil
	}
	return n
}

// fdName parses the name of an entry of /proc/N/fd or fdinfo: a
// canonical decimal number.
func fdName(name string) (int, bool) {
	fd, err := strconv.Atoi(name)
	return fd, err == nil && fd >= 0 && strconv.Itoa(fd) == name
}

// procFdDir is /proc/N/fd: a magic link per open file, whose text is the
// file's path and which leads to the open file itself.
func procFdDir(p *task.Process) *kernfs.Node {
	fds := p.FDs
	link := func(fd int) *kernfs.Node {
		f, err := fds.Get(fd)
		if err != nil {
			return nil
		}
		mode := uint32(vfs.S_IFLNK)
		flags, _ := fds.Flags(fd)
		switch flags & unix.O_ACCMODE {
		case unix.O_RDONLY:
			mode |= 0o500
		case unix.O_WRONLY:
			mode |= 0o300
		default:
			mode |= 0o700
		}
		return &kernfs.Node{Name: strconv.Itoa(fd), Mode: mode,
			Link: func(vfs.Context) (string, error) { return fdLinkTarget(f), nil },
			Magic: func(ctx vfs.Context, at vfs.Loc) (vfs.Loc, error) {
				if lf, ok := f.(locFile); ok {
					return lf.location(), nil
				}
				return vfs.Loc{M: at.M, In: &anonInode{f: f}}, nil
			}}
	}
	n := pdir("fd", 0o500, func(vfs.Context) []*kernfs.Node {
		fdl := fds.Fds()
		sort.Ints(fdl)
		var out []*kernfs.Node
		for _, fd := range fdl {
			if l := link(fd); l != nil {
				out = append(out, l)
			}
		}
		return out
	})
	n.Find = func(ctx vfs.Context, name string) *kernfs.Node {
		fd, ok := fdName(name)
		if !ok {
			return nil
		}
		return link(fd)
	}
	return n
}

func procFdinfoDir(p *task.Process) *kernfs.Node {
	fds := p.FDs
	info := func(fd int) *kernfs.Node {
		f, err := fds.Get(fd)
		if err != nil {
			return nil
		}
		return pfile(strconv.Itoa(fd), 0o444, func() []byte {
			var pos int64
			if s, ok := f.(task.Seeker); ok {
				pos, _ = s.Seek(0, unix.SEEK_CUR)
			}
			flags, _ := fds.Flags(fd)
			if ce, _ := fds.CloseOnExec(fd); ce {
				flags |= unix.O_CLOEXEC
			}
			st, _, _ := statOf(f)
			mnt := 1
			if lf, ok := f.(locFile); ok {
				mnt = lf.location().M.ID
			}
			return []byte(fmt.Sprintf("pos:\t%d\nflags:\t0%o\nmnt_id:\t%d\nino:\t%d\n", pos, flags, mnt, st.Ino))
		})
	}
	n := pdir("fdinfo", 0o500, func(vfs.Context) []*kernfs.Node {
		fdl := fds.Fds()
		sort.Ints(fdl)
		var out []*kernfs.Node
		for _, fd := range fdl {
			if n := info(fd); n != nil {
				out = append(out, n)
			}
		}
		return out
	})
	n.Find = func(ctx vfs.Context, name string) *kernfs.Node {
		fd, ok := fdName(name)
		if !ok {
			return nil
		}
		return info(fd)
	}
	return n
}

// filePath is the absolute path of an open file, or "" (pipes).
func filePath(f task.File) string {
	if pf, ok := f.(interface{ Path() string }); ok {
		return pf.Path()
	}
	return ""
}

// fdLinkTarget is what readlink(2) of /proc/self/fd/N shows.
func fdLinkTarget(f task.File) string {
	if n, ok := f.(interface{ FDName() string }); ok {
		return n.FDName()
	}
	if p := filePath(f); p != "" {
		if st, _, err := statOf(f); err == nil && st.Nlink == 0 {
			return p + " (deleted)"
		}
		return p
	}
	return "anon_inode:[unknown]"
}

// Process facts used by the files of /proc.

func tids(p *task.Process) []int {
	p.Mu.Lock()
	defer p.Mu.Unlock()
	out := make([]int, 0, len(p.Tasks))
	for id := range p.Tasks {
		out = append(out, id)
	}
	sort.Ints(out)
	return out
}

func lastTID(p *task.Process) int { return p.K.LastID() }

// comm is the name of thread tid (Task.Comm), or of the executable when
// the thread is gone.
func comm(p *task.Process, tid int) string {
	if t := p.Task(tid); t != nil {
		return Comm(t)
	}
	c := path.Base(p.ExePath)
	if len(c) > 15 {
		c = c[:15]
	}
	return c
}

func nulJoin(ss []string) []byte {
	var b bytes.Buffer
	for _, s := range ss {
		b.WriteString(s)
		b.WriteByte(0)
	}
	return b.Bytes()
}

// procMaps formats the memory map as /proc/self/maps:
//
//	start-end perms offset major:minor inode [padding name]
//
// with the name (a file path, [heap], [stack]) at column 73.
func procMaps(p *task.Process) []byte {
	var b bytes.Buffer
	for _, v := range p.MM.VMAs() {
		perms := []byte("---p")
		if v.Prot&unix.PROT_READ != 0 {
			perms[0] = 'r'
		}
		if v.Prot&unix.PROT_WRITE != 0 {
			perms[1] = 'w'
		}
		if v.Prot&unix.PROT_EXEC != 0 {
			perms[2] = 'x'
		}
		if v.Flags&unix.MAP_SHARED != 0 { // MAP_SHARED or MAP_SHARED_VALIDATE
			perms[3] = 's'
		}
		var off int64
		var dev, ino uint64
		if strings.HasPrefix(v.Name, "/") {
			off = v.Offset
			if st, err := p.FS.Stat(vfs.RootContext, vfs.Loc{}, v.Name, 0); err == nil {
				dev, ino = st.Dev, st.Ino
			}
		}
		start := b.Len()
		fmt.Fprintf(&b, "%08x-%08x %s %08x %02x:%02x %d ", v.Start, v.End, perms, off, vfs.Major(dev), vfs.Minor(dev), ino)
		if v.Name != "" {
			if pad := 72 - (b.Len() - start); pad > 0 {
				b.WriteString(strings.Repeat(" ", pad))
			}
			b.WriteByte(' ')
			b.WriteString(v.Name)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// memSizes returns the sizes (kB) of the whole map, the writable private
// data, the stack and the executable's mappings.
func memSizes(p *task.Process) (size, data, stack, exe uint64, startCode, endCode, startStack uintptr) {
	for _, v := range p.MM.VMAs() {
		n := uint64(v.End-v.Start) / 1024
		size += n
		switch {
		case v.Name == "[stack]":
			stack += n
			startStack = v.End
		case v.Name == p.ExePath && p.ExePath != "" && v.Prot&unix.PROT_EXEC != 0:
			exe += n
			if startCode == 0 {
				startCode = v.Start
			}
			endCode = v.End
		case v.Prot&unix.PROT_WRITE != 0 && v.Flags&unix.MAP_SHARED == 0:
			data += n
		}
	}
	return
}

// procPidStat formats /proc/self/stat (the 52 fields of proc(5)).
func procPidStat(p *task.Process, tid int) []byte {
	size, _, _, _, startCode, endCode, startStack := memSizes(p)
	p.MM.Mu.Lock()
	brk := p.MM.BrkStart
	p.MM.Mu.Unlock()
	f := []any{
		tid, "(" + comm(p, tid) + ")", "R", 0, 1, 1, 0, -1, 4194560, // pid comm state ppid pgrp session tty tpgid flags
		0, 0, 0, 0, 0, 0, 0, 0, // minflt cminflt majflt cmajflt utime stime cutime cstime
		20, 0, len(tids(p)), 0, 0, // priority nice num_threads itrealvalue starttime
		size * 1024, 0, uint64(1<<64 - 1), startCode, endCode, startStack, 0, 0, // vsize rss rsslim startcode endcode startstack kstkesp kstkeip
		0, 0, 0, 0, 0, 0, 0, 17, 0, 0, 0, 0, 0, 0, // signal blocked sigignore sigcatch wchan nswap cnswap exit_signal processor rt_priority policy blkio guest_time cguest_time
		0, 0, brk, 0, 0, 0, 0, 0, // start_data end_data start_brk arg_start arg_end env_start env_end exit_code
	}
	var b strings.Builder
	for i, v := range f {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprint(&b, v)
	}
	b.WriteByte('\n')
	return []byte(b.String())
}

func cpuList(numCPU int) string {
	if numCPU <= 1 {
		return "0"
	}
	return fmt.Sprintf("0-%d", numCPU-1)
}

func cpuMask(numCPU int) string {
	n := max(numCPU, 1)
	var words []string
	for n > 0 {
		k := min(n, 32)
		words = append([]string{fmt.Sprintf("%08x", uint64(1)<<k-1)}, words...)
		n -= k
	}
	return strings.Join(words, ",")
}

// procStatus formats /proc/self/status.
func procStatus(p *task.Process, tid int) []byte {
	size, data, stack, exe, _, _, _ := memSizes(p)
	var b strings.Builder
	kv := func(k string, v any) { fmt.Fprintf(&b, "%s:\t%v\n", k, v) }
	kb := func(k string, v uint64) { fmt.Fprintf(&b, "%s:\t%8d kB\n", k, v) }
	kv("Name", comm(p, tid))
	kv("State", "R (running)")
	kv("Tgid", p.Pid())
	kv("Ngid", 0)
	kv("Pid", tid)
	kv("PPid", 0)
	kv("TracerPid", 0)
	kv("Uid", "0\t0\t0\t0")
	kv("Gid", "0\t0\t0\t0")
	kv("FDSize", 64)
	kv("Groups", "")
	kb("VmPeak", size)
	kb("VmSize", size)
	kb("VmLck", 0)
	kb("VmPin", 0)
	kb("VmHWM", 0)
	kb("VmRSS", 0)
	kb("RssAnon", 0)
	kb("RssFile", 0)
	kb("RssShmem", 0)
	kb("VmData", data)
	kb("VmStk", stack)
	kb("VmExe", exe)
	kb("VmLib", 0)
	kb("VmPTE", 0)
	kb("VmSwap", 0)
	kv("Threads", len(tids(p)))
	kv("SigQ", "0/127431")
	for _, k := range []string{"SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt", "CapInh"} {
		kv(k, "0000000000000000")
	}
	for _, k := range []string{"CapPrm", "CapEff", "CapBnd"} {
		kv(k, "000001ffffffffff")
	}
	kv("CapAmb", "0000000000000000")
	kv("NoNewPrivs", 0)
	kv("Seccomp", 0)
	kv("Cpus_allowed", cpuMask(p.K.Plat.NumCPU))
	kv("Cpus_allowed_list", cpuList(p.K.Plat.NumCPU))
	kv("Mems_allowed", "00000001")
	kv("Mems_allowed_list", "0")
	kv("voluntary_ctxt_switches", 0)
	kv("nonvoluntary_ctxt_switches", 0)
	return []byte(b.String())
}

func uptime(pl *task.Platform) time.Duration { return time.Duration(pl.Nanotime()) }

func procUptime(pl *task.Platform) []byte {
	up := uptime(pl).Seconds()
	return []byte(fmt.Sprintf("%.2f %.2f\n", up, up*float64(max(pl.NumCPU, 1))))
}

func procStat(p *task.Process) []byte {
	pl := &p.K.Plat
	ticks := uint64(uptime(pl) / (10 * time.Millisecond)) // USER_HZ = 100
	var b strings.Builder
	n := max(pl.NumCPU, 1)
	fmt.Fprintf(&b, "cpu  0 0 0 %d 0 0 0 0 0 0\n", ticks*uint64(n))
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "cpu%d 0 0 0 %d 0 0 0 0 0 0\n", i, ticks)
	}
	fmt.Fprintf(&b, "intr 0\nctxt 0\nbtime %d\nprocesses %d\nprocs_running 1\nprocs_blocked 0\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n",
		time.Now().Add(-uptime(pl)).Unix(), lastTID(p))
	return []byte(b.String())
}

func procMeminfo(pl *task.Platform) []byte {
	m := pl.MemInfo()
	var b strings.Builder
	kb := func(k string, v uint64) { fmt.Fprintf(&b, "%-16s%8d kB\n", k+":", v/1024) }
	kb("MemTotal", m.Total)
	kb("MemFree", m.Free)
	kb("MemAvailable", m.Free)
	kb("Buffers", 0)
	kb("Cached", 0)
	kb("SwapCached", 0)
	kb("Active", 0)
	kb("Inactive", 0)
	kb("SwapTotal", 0)
	kb("SwapFree", 0)
	kb("Dirty", 0)
	kb("Writeback", 0)
	kb("AnonPages", m.Total-min(m.Free, m.Total))
	kb("Mapped", 0)
	kb("Shmem", 0)
	kb("Slab", 0)
	kb("CommitLimit", m.Total/2)
	kb("Committed_AS", m.Total-min(m.Free, m.Total))
	kb("VmallocTotal", 34359738367*1024)
	kb("VmallocUsed", 0)
	kb("VmallocChunk", 0)
	fmt.Fprintf(&b, "%-16s%8d\n", "HugePages_Total:", 0)
	fmt.Fprintf(&b, "%-16s%8d\n", "HugePages_Free:", 0)
	fmt.Fprintf(&b, "%-16s%8d\n", "HugePages_Rsvd:", 0)
	fmt.Fprintf(&b, "%-16s%8d\n", "HugePages_Surp:", 0)
	kb("Hugepagesize", 2<<20)
	return []byte(b.String())
}

// edxFlags names the bits of CPUID.1:EDX as /proc/cpuinfo does.
var edxFlags = [32]string{"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "", "sep",
	"mtrr", "pge", "mca", "cmov", "pat", "pse36", "pn", "clflush", "", "dts", "acpi", "mmx", "fxsr", "sse",
	"sse2", "ss", "ht", "tm", "ia64", "pbe"}

func procCPUInfo(pl *task.Platform) []byte {
	var flags []string
	for i, name := range edxFlags {
		if name != "" && pl.HWCap&(1<<i) != 0 {
			flags = append(flags, name)
		}
	}
	n := max(pl.NumCPU, 1)
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "processor\t: %d\nvendor_id\t: %s\ncpu family\t: 6\nmodel\t\t: 0\nmodel name\t: %s\nstepping\t: 0\n", i, cpuVendor, cpuModelName)
		fmt.Fprintf(&b, "cpu MHz\t\t: %.3f\ncache size\t: 4096 KB\nphysical id\t: 0\nsiblings\t: %d\ncore id\t\t: %d\ncpu cores\t: %d\n", pl.CPUMHz, n, i, n)
		fmt.Fprintf(&b, "apicid\t\t: %d\ninitial apicid\t: %d\nfpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: 13\nwp\t\t: yes\n", i, i)
		fmt.Fprintf(&b, "flags\t\t: %s\nbugs\t\t:\nbogomips\t: %.2f\nclflush size\t: 64\ncache_alignment\t: 64\n", strings.Join(flags, " "), 2*pl.CPUMHz)
		b.WriteString("address sizes\t: 40 bits physical, 48 bits virtual\npower management:\n\n")
	}
	return []byte(b.String())
}
