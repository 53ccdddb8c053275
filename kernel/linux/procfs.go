package linux

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"hash/fnv"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	fs "github.com/gosv/gosv/kernel/fsimpl/ramfs"
	"golang.org/x/sys/unix"
)

// A small /proc and /sys, built on demand from the process state. Paths
// that start with /proc or /sys are resolved here before the root
// filesystem (see resolveAt). The app is pid 1: /proc/self and
// /proc/1 are the same directory.

// Figures the kernel sets at boot (MemInfo, shared with sysinfo(2), is in
// sys_res.go).
var (
	// NumCPU is the number of CPUs the app sees (/proc/cpuinfo,
	// /proc/stat, /sys/devices/system/cpu).
	NumCPU = 1

	// CPU description of /proc/cpuinfo. CPUFlags nil means the flags of
	// CPUID.1:EDX taken from HWCap.
	CPUVendor    = "GenuineIntel"
	CPUModelName = "gosv virtual CPU"
	CPUMHz       = 2000.0
	CPUFlags     []string
)

// procBoot timestamps the /proc and /sys entries.
var procBoot = time.Now()

// bootID is /proc/sys/kernel/random/boot_id.
var bootID = newUUID()

func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// procNode is one entry of the synthetic trees.
type procNode struct {
	name string
	mode uint32                 // S_IFDIR, S_IFLNK or S_IFREG and permission bits
	data func() []byte          // regular file: its contents, taken at open
	link func() (string, error) // symlink: its target
	list func() []*procNode     // directory: its entries
	find func(string) *procNode // directory: optional direct lookup
	fd   int                    // /proc/N/fd/M magic link: M; else -1
	// write consumes a write(2) to a regular file; nil: EINVAL, as for a
	// seq_file without a write operation.
	write func(t *Task, b []byte) (int, error)
}

func pdir(name string, mode uint32, list func() []*procNode) *procNode {
	return &procNode{name: name, mode: fs.S_IFDIR | mode, list: list, fd: -1}
}

func pfile(name string, mode uint32, data func() []byte) *procNode {
	return &procNode{name: name, mode: fs.S_IFREG | mode, data: data, fd: -1}
}

func ptext(name, text string) *procNode {
	return pfile(name, 0o444, func() []byte { return []byte(text) })
}

func plink(name string, link func() (string, error)) *procNode {
	return &procNode{name: name, mode: fs.S_IFLNK | 0o777, link: link, fd: -1}
}

func plinkTo(name, target string) *procNode {
	return plink(name, func() (string, error) { return target, nil })
}

func (n *procNode) isDir() bool  { return n.mode&fs.S_IFMT == fs.S_IFDIR }
func (n *procNode) isLink() bool { return n.mode&fs.S_IFMT == fs.S_IFLNK }

func (n *procNode) child(name string) *procNode {
	if n.find != nil {
		return n.find(name)
	}
	if n.list == nil {
		return nil
	}
	for _, c := range n.list() {
		if c.name == name {
			return c
		}
	}
	return nil
}

// procIno gives every synthetic path a stable inode number (/proc is 1).
func procIno(p string) uint64 {
	if p == "/proc" {
		return 1
	}
	h := fnv.New64a()
	h.Write([]byte(p))
	return h.Sum64()&0xffffffff | 0x1000
}

// procStat is the stat of a synthetic entry: size 0 as on Linux, times of
// boot.
func procStat(p string, mode uint32) fs.Stat {
	ts := fs.TimespecOf(procBoot)
	dev := sysDev
	if isProcPath(p) {
		dev = procDev
	}
	st := fs.Stat{Dev: dev, Ino: procIno(p), Nlink: 1, Mode: mode, Blksize: 1024,
		Atime: ts, Mtime: ts, Ctime: ts}
	if mode&fs.S_IFMT == fs.S_IFDIR {
		st.Nlink = 2
	}
	return st
}

// procResult is where a /proc or /sys path leads.
type procResult struct {
	node   *procNode
	path   string // the clean path of node or of the fd link
	fsPath string // non-empty: the path continues in the root filesystem
	file   File   // a followed /proc/N/fd/M link: that open file
}

// procWalk resolves p (absolute, in /proc or /sys) following symbolic
// links in the middle, and the last one too with follow. A link out of
// the synthetic trees (exe, cwd, fd/N of a file) gives fsPath.
func (t *Task) procWalk(p string, follow bool) (procResult, error) {
	for hops := 0; ; {
		v := virtualPath(p)
		if v == "" {
			return procResult{fsPath: p}, nil
		}
		slash := strings.HasSuffix(v, "/")
		clean := strings.TrimSuffix(v, "/")
		comps := strings.Split(clean[1:], "/")
		node := t.procRoot()
		if comps[0] == "sys" {
			node = t.sysRoot()
		}
		cur := "/" + comps[0]
		restarted := false
		for i := 1; i < len(comps); i++ {
			if !node.isDir() {
				return procResult{}, unix.ENOTDIR
			}
			if len(comps[i]) > fs.NameMax {
				return procResult{}, unix.ENAMETOOLONG
			}
			c := node.child(comps[i])
			if c == nil {
				return procResult{}, unix.ENOENT
			}
			last := i == len(comps)-1
			next := cur + "/" + comps[i]
			if !c.isLink() || last && !follow && !slash {
				node, cur = c, next
				continue
			}
			if hops++; hops > fs.MaxSymlinks {
				return procResult{}, unix.ELOOP
			}
			var target string
			if c.fd >= 0 {
				f, err := t.P.FDs.Get(c.fd)
				if err != nil {
					return procResult{}, unix.ENOENT
				}
				if last && !slash {
					return procResult{file: f, path: next}, nil
				}
				target = filePath(f)
				if !path.IsAbs(target) {
					return procResult{}, unix.ENOTDIR
				}
			} else {
				var err error
				if target, err = c.link(); err != nil {
					return procResult{}, err
				}
			}
			if !path.IsAbs(target) {
				target = path.Join(cur, target)
			}
			p = path.Join(append([]string{target}, comps[i+1:]...)...)
			if slash {
				p += "/"
			}
			restarted = true
			break
		}
		if restarted {
			continue
		}
		if slash && !node.isDir() {
			return procResult{}, unix.ENOTDIR
		}
		return procResult{node: node, path: clean}, nil
	}
}

// filePath is the absolute path of an open file, or "" (pipes).
func filePath(f File) string {
	if pf, ok := f.(interface{ Path() string }); ok {
		return pf.Path()
	}
	if _, ok := f.(*Console); ok {
		return "/dev/console"
	}
	return ""
}

// fdLinkTarget is what readlink(2) of /proc/self/fd/N shows.
func fdLinkTarget(f File) string {
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

// procRoot is /proc, seen by task t.
func (t *Task) procRoot() *procNode {
	p := t.P
	self := func() *procNode { return t.procPidDir("1", p.Pid(), true) }
	sys := pdir("sys", 0o555, func() []*procNode {
		return []*procNode{
			pdir("kernel", 0o555, func() []*procNode {
				return []*procNode{
					ptext("osrelease", UnameRelease+"\n"),
					ptext("ostype", UnameSysname+"\n"),
					ptext("hostname", UnameNodename+"\n"),
					ptext("version", UnameVersion+"\n"),
					ptext("pid_max", "4194304\n"),
					ptext("ngroups_max", "65536\n"),
					pdir("random", 0o555, func() []*procNode {
						return []*procNode{
							ptext("boot_id", bootID+"\n"),
							pfile("uuid", 0o444, func() []byte { return []byte(newUUID() + "\n") }),
						}
					}),
				}
			}),
			pdir("vm", 0o555, func() []*procNode {
				return []*procNode{ptext("overcommit_memory", "0\n")}
			}),
			pdir("fs", 0o555, func() []*procNode {
				return []*procNode{ptext("nr_open", "1048576\n"), ptext("file-max", "9223372036854775807\n")}
			}),
		}
	})
	n := pdir("proc", 0o555, func() []*procNode {
		return []*procNode{
			self(),
			plinkTo("self", "1"),
			plinkTo("thread-self", "1/task/"+strconv.Itoa(t.TID)),
			pfile("cpuinfo", 0o444, procCPUInfo),
			pfile("meminfo", 0o444, procMeminfo),
			pfile("uptime", 0o444, procUptime),
			pfile("version", 0o444, func() []byte {
				return []byte(fmt.Sprintf("Linux version %s (gosv@gosv) (go) %s\n", UnameRelease, UnameVersion))
			}),
			ptext("filesystems", "nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tramfs\nnodev\tpipefs\n"),
			pfile("stat", 0o444, p.procStat),
			pfile("loadavg", 0o444, func() []byte {
				return []byte(fmt.Sprintf("0.00 0.00 0.00 1/%d %d\n", len(p.tids()), p.lastTID()))
			}),
			plinkTo("mounts", "self/mounts"),
			sys,
		}
	})
	n.find = func(name string) *procNode {
		if name == "1" {
			return self()
		}
		for _, c := range n.list() {
			if c.name == name {
				return c
			}
		}
		return nil
	}
	return n
}

// procPidDir is /proc/1 (process) or /proc/1/task/TID (thread).
func (t *Task) procPidDir(name string, tid int, process bool) *procNode {
	p := t.P
	list := func() []*procNode {
		out := []*procNode{
			plink("exe", func() (string, error) {
				if p.ExePath == "" {
					return "", unix.ENOENT
				}
				return p.ExePath, nil
			}),
			plink("cwd", func() (string, error) { return p.FS.Getcwd() }),
			plinkTo("root", "/"),
			t.procFdDir(),
			t.procFdinfoDir(),
			pfile("maps", 0o444, p.procMaps),
			pfile("cmdline", 0o444, func() []byte { return nulJoin(p.Argv) }),
			pfile("environ", 0o400, func() []byte { return nulJoin(p.Envp) }),
			pfile("stat", 0o444, func() []byte { return p.procPidStat(tid) }),
			pfile("status", 0o444, func() []byte { return p.procStatus(tid) }),
			commNode(p, tid),
			procOomScoreAdj(),
			pfile("mounts", 0o444, p.procMounts),
			pfile("mountinfo", 0o444, p.procMountinfo),
		}
		if process {
			out = append(out, pdir("task", 0o555, func() []*procNode {
				var ts []*procNode
				for _, id := range p.tids() {
					ts = append(ts, t.procPidDir(strconv.Itoa(id), id, false))
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
func commNode(p *Process, tid int) *procNode {
	n := pfile("comm", 0o644, func() []byte { return []byte(p.comm(tid) + "\n") })
	n.write = func(t *Task, b []byte) (int, error) {
		name := b[:min(len(b), taskCommLen-1)]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		if target := p.Task(tid); target != nil {
			target.SetComm(string(name))
		}
		return len(b), nil
	}
	return n
}

// procOomScoreAdj is /proc/N/oom_score_adj: writes of -1000..1000 are
// accepted (there is no OOM killer) and it reads 0.
func procOomScoreAdj() *procNode {
	n := ptext("oom_score_adj", "0\n")
	n.mode = fs.S_IFREG | 0o644
	n.write = func(t *Task, b []byte) (int, error) {
		v, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || v < -1000 || v > 1000 {
			return 0, unix.EINVAL
		}
		return len(b), nil
	}
	return n
}

func (t *Task) procFdDir() *procNode {
	fds := t.P.FDs
	link := func(fd int) *procNode {
		f, err := fds.Get(fd)
		if err != nil {
			return nil
		}
		mode := uint32(fs.S_IFLNK)
		flags, _ := fds.Flags(fd)
		switch flags & unix.O_ACCMODE {
		case unix.O_RDONLY:
			mode |= 0o500
		case unix.O_WRONLY:
			mode |= 0o300
		default:
			mode |= 0o700
		}
		return &procNode{name: strconv.Itoa(fd), mode: mode, fd: fd,
			link: func() (string, error) { return fdLinkTarget(f), nil }}
	}
	n := pdir("fd", 0o500, func() []*procNode {
		fdl := fds.Fds()
		sort.Ints(fdl)
		var out []*procNode
		for _, fd := range fdl {
			if l := link(fd); l != nil {
				out = append(out, l)
			}
		}
		return out
	})
	n.find = func(name string) *procNode {
		fd, err := strconv.Atoi(name)
		if err != nil || fd < 0 || strconv.Itoa(fd) != name {
			return nil
		}
		return link(fd)
	}
	return n
}

func (t *Task) procFdinfoDir() *procNode {
	fds := t.P.FDs
	info := func(fd int) *procNode {
		f, err := fds.Get(fd)
		if err != nil {
			return nil
		}
		return pfile(strconv.Itoa(fd), 0o444, func() []byte {
			var pos int64
			if s, ok := f.(Seeker); ok {
				pos, _ = s.Seek(0, unix.SEEK_CUR)
			}
			flags, _ := fds.Flags(fd)
			if ce, _ := fds.CloseOnExec(fd); ce {
				flags |= unix.O_CLOEXEC
			}
			st, _, _ := statOf(f)
			return []byte(fmt.Sprintf("pos:\t%d\nflags:\t0%o\nmnt_id:\t1\nino:\t%d\n", pos, flags, st.Ino))
		})
	}
	n := pdir("fdinfo", 0o500, func() []*procNode {
		fdl := fds.Fds()
		sort.Ints(fdl)
		var out []*procNode
		for _, fd := range fdl {
			if n := info(fd); n != nil {
				out = append(out, n)
			}
		}
		return out
	})
	n.find = func(name string) *procNode {
		fd, err := strconv.Atoi(name)
		if err != nil || fd < 0 || strconv.Itoa(fd) != name {
			return nil
		}
		return info(fd)
	}
	return n
}

// sysRoot is /sys: the CPU topology glibc's get_nprocs reads.
func (t *Task) sysRoot() *procNode {
	cpus := func() string {
		if NumCPU <= 1 {
			return "0\n"
		}
		return fmt.Sprintf("0-%d\n", NumCPU-1)
	}
	cpu := pdir("cpu", 0o755, func() []*procNode {
		out := []*procNode{
			pfile("online", 0o444, func() []byte { return []byte(cpus()) }),
			pfile("possible", 0o444, func() []byte { return []byte(cpus()) }),
			pfile("present", 0o444, func() []byte { return []byte(cpus()) }),
		}
		for i := 0; i < max(NumCPU, 1); i++ {
			out = append(out, pdir("cpu"+strconv.Itoa(i), 0o755, func() []*procNode {
				return []*procNode{ptext("online", "1\n")}
			}))
		}
		return out
	})
	return pdir("sys", 0o555, func() []*procNode {
		return []*procNode{
			pdir("devices", 0o755, func() []*procNode {
				return []*procNode{pdir("system", 0o755, func() []*procNode { return []*procNode{cpu} })}
			}),
		}
	})
}

// Process facts used by the files of /proc.

func (p *Process) tids() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]int, 0, len(p.tasks))
	for id := range p.tasks {
		out = append(out, id)
	}
	sort.Ints(out)
	return out
}

func (p *Process) lastTID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.nextTID - 1
}

// comm is the name of thread tid (Task.Comm), or of the executable when
// the thread is gone.
func (p *Process) comm(tid int) string {
	if t := p.Task(tid); t != nil {
		return t.Comm()
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
func (p *Process) procMaps() []byte {
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
			if st, err := p.FS.Stat(nil, v.Name, 0); err == nil {
				dev, ino = st.Dev, st.Ino
			}
		}
		start := b.Len()
		fmt.Fprintf(&b, "%08x-%08x %s %08x %02x:%02x %d ", v.Start, v.End, perms, off, fs.Major(dev), fs.Minor(dev), ino)
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
func (p *Process) memSizes() (size, data, stack, exe uint64, startCode, endCode, startStack uintptr) {
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
func (p *Process) procPidStat(tid int) []byte {
	size, _, _, _, startCode, endCode, startStack := p.memSizes()
	p.MM.mu.Lock()
	brk := p.MM.brkStart
	p.MM.mu.Unlock()
	f := []any{
		tid, "(" + p.comm(tid) + ")", "R", 0, 1, 1, 0, -1, 4194560, // pid comm state ppid pgrp session tty tpgid flags
		0, 0, 0, 0, 0, 0, 0, 0, // minflt cminflt majflt cmajflt utime stime cutime cstime
		20, 0, len(p.tids()), 0, 0, // priority nice num_threads itrealvalue starttime
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

func cpuList() string {
	if NumCPU <= 1 {
		return "0"
	}
	return fmt.Sprintf("0-%d", NumCPU-1)
}

func cpuMask() string {
	n := max(NumCPU, 1)
	var words []string
	for n > 0 {
		k := min(n, 32)
		words = append([]string{fmt.Sprintf("%08x", uint64(1)<<k-1)}, words...)
		n -= k
	}
	return strings.Join(words, ",")
}

// procStatus formats /proc/self/status.
func (p *Process) procStatus(tid int) []byte {
	size, data, stack, exe, _, _, _ := p.memSizes()
	var b strings.Builder
	kv := func(k string, v any) { fmt.Fprintf(&b, "%s:\t%v\n", k, v) }
	kb := func(k string, v uint64) { fmt.Fprintf(&b, "%s:\t%8d kB\n", k, v) }
	kv("Name", p.comm(tid))
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
	kv("Threads", len(p.tids()))
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
	kv("Cpus_allowed", cpuMask())
	kv("Cpus_allowed_list", cpuList())
	kv("Mems_allowed", "00000001")
	kv("Mems_allowed_list", "0")
	kv("voluntary_ctxt_switches", 0)
	kv("nonvoluntary_ctxt_switches", 0)
	return []byte(b.String())
}

// procMounts lists the root filesystem as a tmpfs mounted on / (not
// "rootfs", which tools such as df skip), /proc and /sys.
func (p *Process) procMounts() []byte {
	return []byte("tmpfs / tmpfs rw,relatime 0 0\n" +
		"proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n" +
		"sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0\n")
}

func (p *Process) procMountinfo() []byte {
	root := fs.DefaultDev
	if st, err := p.FS.Stat(p.FS.Root(), "", unix.AT_EMPTY_PATH); err == nil {
		root = st.Dev
	}
	return []byte(fmt.Sprintf("1 1 %d:%d / / rw,relatime - tmpfs tmpfs rw\n", fs.Major(root), fs.Minor(root)) +
		fmt.Sprintf("2 1 %d:%d / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n", fs.Major(procDev), fs.Minor(procDev)) +
		fmt.Sprintf("3 1 %d:%d / /sys rw,nosuid,nodev,noexec,relatime - sysfs sysfs rw\n", fs.Major(sysDev), fs.Minor(sysDev)))
}

func uptime() time.Duration { return time.Duration(Nanotime()) }

func procUptime() []byte {
	up := uptime().Seconds()
	return []byte(fmt.Sprintf("%.2f %.2f\n", up, up*float64(max(NumCPU, 1))))
}

func (p *Process) procStat() []byte {
	ticks := uint64(uptime() / (10 * time.Millisecond)) // USER_HZ = 100
	var b strings.Builder
	n := max(NumCPU, 1)
	fmt.Fprintf(&b, "cpu  0 0 0 %d 0 0 0 0 0 0\n", ticks*uint64(n))
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "cpu%d 0 0 0 %d 0 0 0 0 0 0\n", i, ticks)
	}
	fmt.Fprintf(&b, "intr 0\nctxt 0\nbtime %d\nprocesses %d\nprocs_running 1\nprocs_blocked 0\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n",
		time.Now().Add(-uptime()).Unix(), p.lastTID())
	return []byte(b.String())
}

func procMeminfo() []byte {
	m := MemInfo()
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

func procCPUInfo() []byte {
	flags := CPUFlags
	if flags == nil {
		for i, name := range edxFlags {
			if name != "" && HWCap&(1<<i) != 0 {
				flags = append(flags, name)
			}
		}
	}
	n := max(NumCPU, 1)
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "processor\t: %d\nvendor_id\t: %s\ncpu family\t: 6\nmodel\t\t: 0\nmodel name\t: %s\nstepping\t: 0\n", i, CPUVendor, CPUModelName)
		fmt.Fprintf(&b, "cpu MHz\t\t: %.3f\ncache size\t: 4096 KB\nphysical id\t: 0\nsiblings\t: %d\ncore id\t\t: %d\ncpu cores\t: %d\n", CPUMHz, n, i, n)
		fmt.Fprintf(&b, "apicid\t\t: %d\ninitial apicid\t: %d\nfpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: 13\nwp\t\t: yes\n", i, i)
		fmt.Fprintf(&b, "flags\t\t: %s\nbugs\t\t:\nbogomips\t: %.2f\nclflush size\t: 64\ncache_alignment\t: 64\n", strings.Join(flags, " "), 2*CPUMHz)
		b.WriteString("address sizes\t: 40 bits physical, 48 bits virtual\npower management:\n\n")
	}
	return []byte(b.String())
}

// procFile is an open regular file of /proc or /sys: a snapshot of its
// contents taken at open, as a seq_file read from the start.
type procFile struct {
	path  string
	mode  uint32
	opath bool // opened with O_PATH: no I/O
	acc   int  // O_RDONLY, O_WRONLY or O_RDWR
	write func(t *Task, b []byte) (int, error)
	mu    sync.Mutex
	data  []byte
	off   int64
}

func (f *procFile) Read(t *Task, p []byte) (int, error) {
	if f.opath || f.acc == unix.O_WRONLY {
		return 0, unix.EBADF
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.readAt(p, f.off)
	f.off += int64(n)
	return n, nil
}

func (f *procFile) readAt(p []byte, off int64) int {
	if off >= int64(len(f.data)) {
		return 0
	}
	return copy(p, f.data[off:])
}

func (f *procFile) Pread(p []byte, off int64) (int, error) {
	if f.opath || f.acc == unix.O_WRONLY {
		return 0, unix.EBADF
	}
	if off < 0 {
		return 0, unix.EINVAL
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.readAt(p, off), nil
}

func (f *procFile) Write(t *Task, p []byte) (int, error) {
	switch {
	case f.opath || f.acc == unix.O_RDONLY:
		return 0, unix.EBADF
	case f.write == nil:
		return 0, unix.EINVAL
	}
	return f.write(t, p)
}

func (f *procFile) Close() error             { return nil }
func (f *procFile) Path() string             { return f.path }
func (f *procFile) statFS() (fs.Stat, error) { return procStat(f.path, f.mode), nil }

func (f *procFile) Stat() (unix.Stat_t, error) { return toStatT(procStat(f.path, f.mode)), nil }

func (f *procFile) Seek(off int64, whence int) (int64, error) {
	if f.opath {
		return 0, unix.EBADF
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var pos int64
	switch whence {
	case unix.SEEK_SET:
		pos = off
	case unix.SEEK_CUR:
		pos = f.off + off
	case unix.SEEK_END:
		pos = int64(len(f.data)) + off
	default:
		return 0, unix.EINVAL
	}
	if pos < 0 {
		return 0, unix.EINVAL
	}
	f.off = pos
	return pos, nil
}

// procDir is an open directory of /proc or /sys. Its offset counts
// entries: 0 is ".", 1 is "..", then the children in order.
type procDir struct {
	t    *Task
	path string
	mu   sync.Mutex
	off  int64
}

func (d *procDir) Read(t *Task, p []byte) (int, error)  { return 0, unix.EISDIR }
func (d *procDir) Write(t *Task, p []byte) (int, error) { return 0, unix.EBADF }
func (d *procDir) Close() error                         { return nil }
func (d *procDir) Path() string                         { return d.path }
func (d *procDir) statFS() (fs.Stat, error)             { return procStat(d.path, fs.S_IFDIR|0o555), nil }
func (d *procDir) Stat() (unix.Stat_t, error) {
	return toStatT(procStat(d.path, fs.S_IFDIR|0o555)), nil
}

func (d *procDir) Seek(off int64, whence int) (int64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch whence {
	case unix.SEEK_SET:
	case unix.SEEK_CUR:
		off += d.off
	default:
		return 0, unix.EINVAL
	}
	if off < 0 {
		return 0, unix.EINVAL
	}
	d.off = off
	return off, nil
}

func (d *procDir) entries() ([]fs.Dirent, error) {
	r, err := d.t.procWalk(d.path, true)
	if err != nil {
		return nil, unix.ENOENT
	}
	if r.node == nil || !r.node.isDir() {
		return nil, unix.ENOTDIR
	}
	parent := path.Dir(d.path)
	ents := []fs.Dirent{
		{Ino: procIno(d.path), Type: unix.DT_DIR, Name: "."},
		{Ino: procIno(parent), Type: unix.DT_DIR, Name: ".."},
	}
	if d.path == "/proc" || d.path == "/sys" {
		ents[1].Ino = 2 // the root of the root filesystem
	}
	for _, c := range r.node.list() {
		typ := uint8(unix.DT_REG)
		switch {
		case c.isDir():
			typ = unix.DT_DIR
		case c.isLink():
			typ = unix.DT_LNK
		}
		ents = append(ents, fs.Dirent{Ino: procIno(d.path + "/" + c.name), Type: typ, Name: c.name})
	}
	for i := range ents {
		ents[i].Off = int64(i + 1)
	}
	return ents, nil
}

func (d *procDir) ReadDir(p []byte) (int, error)       { return d.readDir(p, false) }
func (d *procDir) ReadDirLegacy(p []byte) (int, error) { return d.readDir(p, true) }

func (d *procDir) readDir(p []byte, legacy bool) (int, error) {
	ents, err := d.entries()
	if err != nil {
		return 0, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.off >= int64(len(ents)) {
		return 0, nil
	}
	n, k := encodeDirents(p, ents[d.off:], legacy)
	if k == 0 {
		return 0, unix.EINVAL
	}
	d.off += int64(k)
	return n, nil
}

// encodeDirents writes as many records as fit in buf in the format of
// getdents64(2) (or getdents(2) with legacy) and returns the bytes used
// and the number of entries written.
func encodeDirents(buf []byte, ents []fs.Dirent, legacy bool) (n, k int) {
	for _, e := range ents {
		fixed := 19
		if legacy {
			fixed = 18 + 1 // name, then NUL, then d_type in the last byte
		}
		reclen := (fixed + len(e.Name) + 1 + 7) &^ 7
		if n+reclen > len(buf) {
			break
		}
		b := buf[n : n+reclen]
		clear(b)
		le.PutUint64(b[0:], e.Ino)
		le.PutUint64(b[8:], uint64(e.Off))
		le.PutUint16(b[16:], uint16(reclen))
		if legacy {
			copy(b[18:], e.Name)
			b[reclen-1] = e.Type
		} else {
			b[18] = e.Type
			copy(b[19:], e.Name)
		}
		n += reclen
		k++
	}
	return n, k
}

// openProc opens a /proc or /sys entry. The caller is root, so the mode
// bits do not restrict it; writes go to the entry's write operation.
func (t *Task) openProc(r procResult, flags int) (File, error) {
	n := r.node
	acc := flags & unix.O_ACCMODE
	if flags&unix.O_PATH == 0 {
		switch {
		case n.isLink():
			return nil, unix.ELOOP
		case n.isDir() && (acc != unix.O_RDONLY || flags&unix.O_TRUNC != 0):
			return nil, unix.EISDIR
		}
	}
	if flags&unix.O_DIRECTORY != 0 && !n.isDir() {
		return nil, unix.ENOTDIR
	}
	if flags&unix.O_CREAT != 0 && flags&unix.O_EXCL != 0 {
		return nil, unix.EEXIST
	}
	if flags&unix.O_PATH != 0 {
		return &procFile{path: r.path, mode: n.mode, opath: true}, nil
	}
	if n.isDir() {
		return &procDir{t: t, path: r.path}, nil
	}
	f := &procFile{path: r.path, mode: n.mode, acc: acc, write: n.write}
	if acc != unix.O_WRONLY {
		f.data = n.data()
	}
	return f, nil
}
