package linux

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gosv/gosv/kernel/task"
	"golang.org/x/sys/unix"
)

// newProcFx is a process that looks exec'ed: an executable, argv, envp.
func newProcFx(t *testing.T) *fx {
	f := newFx(t)
	f.ok(unix.SYS_MKDIR, f.str("/bin"), 0o755)
	fd := f.open("/bin/app", unix.O_CREAT|unix.O_WRONLY, 0o755)
	f.write(fd, strings.Repeat("\x7fELF", 3000))
	f.ok(unix.SYS_CLOSE, fd)
	f.p.ExePath = "/bin/app"
	f.p.Argv = []string{"app", "-x", "arg two"}
	f.p.Envp = []string{"HOME=/", "A=b"}
	return f
}

var mapsLine = regexp.MustCompile(`^([0-9a-f]{8,})-([0-9a-f]{8,}) ([r-][w-][x-][ps]) ([0-9a-f]{8,}) ([0-9a-f]{2}):([0-9a-f]{2}) (\d+) *(.*)$`)

func TestProcMaps(t *testing.T) {
	f := newProcFx(t)
	f.p.MM.SetBrk(0x500000)
	f.ok(unix.SYS_BRK, 0x503000)
	// A file mapping at offset 4096, read-execute.
	fd := f.open("/bin/app", unix.O_RDONLY, 0)
	text := f.ok(unix.SYS_MMAP, 0, 2*task.PageSize, unix.PROT_READ|unix.PROT_EXEC, unix.MAP_PRIVATE, fd, task.PageSize)
	shared := f.ok(unix.SYS_MMAP, 0, task.PageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_ANONYMOUS, ^uintptr(0), 0)
	st := f.stat("/bin/app")

	maps := f.readFile("/proc/self/maps")
	lines := strings.Split(strings.TrimSuffix(maps, "\n"), "\n")
	vmas := f.p.MM.VMAs()
	if len(lines) != len(vmas) {
		t.Fatalf("%d lines for %d mappings:\n%s", len(lines), len(vmas), maps)
	}
	seen := map[string]bool{}
	for i, l := range lines {
		m := mapsLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("bad maps line %q", l)
		}
		start, _ := strconv.ParseUint(m[1], 16, 64)
		end, _ := strconv.ParseUint(m[2], 16, 64)
		off, _ := strconv.ParseUint(m[4], 16, 64)
		ino, _ := strconv.ParseUint(m[7], 10, 64)
		v := vmas[i]
		if uintptr(start) != v.Start || uintptr(end) != v.End || m[8] != v.Name {
			t.Errorf("line %q for %+v", l, v)
		}
		if v.Name != "" && strings.Index(l, v.Name) != 73 {
			t.Errorf("name at column %d, want 73: %q", strings.Index(l, v.Name), l)
		}
		if v.Name == "" && !strings.HasSuffix(l, " 0 ") {
			t.Errorf("anonymous line %q should end in \"0 \"", l)
		}
		switch {
		case int64(v.Start) == text:
			seen["text"] = true
			if m[3] != "r-xp" || off != task.PageSize || ino != st.Ino || m[5] != "00" || m[6] != "01" {
				t.Errorf("file mapping line %q (ino %d)", l, st.Ino)
			}
		case int64(v.Start) == shared:
			seen["shared"] = true
			if m[3] != "rw-s" || off != 0 || ino != 0 {
				t.Errorf("shared anonymous line %q", l)
			}
		case v.Name == "[heap]":
			seen["heap"] = true
			if m[3] != "rw-p" || start != 0x500000 || end != 0x503000 {
				t.Errorf("heap line %q", l)
			}
		}
	}
	if len(seen) != 3 {
		t.Errorf("missing mappings (saw %v):\n%s", seen, maps)
	}
}

func TestProcSelf(t *testing.T) {
	f := newProcFx(t)
	if s := f.readlink("/proc/self"); s != "1" {
		t.Errorf("/proc/self -> %q", s)
	}
	if s := f.readlink("/proc/self/exe"); s != "/bin/app" {
		t.Errorf("exe -> %q", s)
	}
	if s := f.readlink("/proc/1/exe"); s != "/bin/app" {
		t.Errorf("/proc/1/exe -> %q", s)
	}
	if s := f.readlink("/proc/self/cwd"); s != "/" {
		t.Errorf("cwd -> %q", s)
	}
	if s := f.readlink("/proc/self/fd/1"); s != "/dev/console" {
		t.Errorf("fd/1 -> %q", s)
	}
	// /dev/stdin is a symlink of /dev (devfs) to the magic link of fd 0.
	if s := f.readlink("/dev/stdin"); s != "/proc/self/fd/0" {
		t.Errorf("/dev/stdin -> %q", s)
	}
	if st := f.stat("/dev/stdin"); st.Mode&unix.S_IFMT != unix.S_IFCHR {
		t.Errorf("stat /dev/stdin mode %o", st.Mode)
	}
	// stat follows exe into the FS; lstat sees the link.
	if st, want := f.stat("/proc/self/exe"), f.stat("/bin/app"); st.Ino != want.Ino || st.Size != want.Size {
		t.Errorf("stat exe: ino %d size %d, want %d %d", st.Ino, st.Size, want.Ino, want.Size)
	}
	if st := f.lstat("/proc/self/exe"); st.Mode&unix.S_IFMT != unix.S_IFLNK {
		t.Errorf("lstat exe mode %o", st.Mode)
	}
	if st := f.stat("/proc/self"); st.Mode != unix.S_IFDIR|0o555 {
		t.Errorf("stat /proc/self mode %o", st.Mode)
	}
	if s := f.readFile("/proc/self/exe"); len(s) != 12000 {
		t.Errorf("reading /proc/self/exe gave %d bytes", len(s))
	}
	if s := f.readFile("/proc/self/cmdline"); s != "app\x00-x\x00arg two\x00" {
		t.Errorf("cmdline %q", s)
	}
	if s := f.readFile("/proc/self/environ"); s != "HOME=/\x00A=b\x00" {
		t.Errorf("environ %q", s)
	}
	if s := f.readFile("/proc/self/comm"); s != "app\n" {
		t.Errorf("comm %q", s)
	}
	stat := f.readFile("/proc/self/stat")
	fields := strings.Fields(stat)
	if len(fields) != 52 || fields[0] != "1" || fields[1] != "(app)" || fields[2] != "R" || fields[19] != "1" {
		t.Errorf("stat has %d fields: %q", len(fields), stat)
	}
	status := f.readFile("/proc/self/status")
	for _, want := range []string{"Name:\tapp\n", "Pid:\t1\n", "PPid:\t0\n", "Threads:\t1\n", "Uid:\t0\t0\t0\t0\n", "Cpus_allowed_list:\t0\n"} {
		if !strings.Contains(status, want) {
			t.Errorf("status lacks %q:\n%s", want, status)
		}
	}
	for _, l := range strings.Split(strings.TrimSuffix(status, "\n"), "\n") {
		if k, _, ok := strings.Cut(l, ":\t"); !ok || k == "" {
			t.Errorf("bad status line %q", l)
		}
	}
	// Threads.
	t2 := f.p.NewTask()
	if s := f.readFile("/proc/self/task/" + strconv.Itoa(t2.TID) + "/stat"); !strings.HasPrefix(s, strconv.Itoa(t2.TID)+" (app) ") {
		t.Errorf("task stat %q", s)
	}
	if s := f.readlink("/proc/thread-self"); s != "1/task/1" {
		t.Errorf("thread-self -> %q", s)
	}
	if !strings.Contains(f.readFile("/proc/self/mounts"), "proc /proc proc ") {
		t.Error("mounts lacks /proc")
	}
	if s := f.readlink("/proc/mounts"); s != "self/mounts" {
		t.Errorf("/proc/mounts -> %q", s)
	}
}

func TestProcFd(t *testing.T) {
	f := newProcFx(t)
	fd := f.open("/bin/app", unix.O_RDONLY, 0)
	if fd != 3 {
		t.Fatal(fd)
	}
	dfd := f.open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY, 0)
	buf := f.alloc(4096)
	n := f.ok(unix.SYS_GETDENTS64, dfd, buf, 4096)
	var names []string
	for _, d := range parseDirents64(t, f.get(buf, int(n))) {
		names = append(names, d.Name)
		if d.Name != "." && d.Name != ".." && d.Type != unix.DT_LNK {
			t.Errorf("fd entry %q type %d", d.Name, d.Type)
		}
	}
	if got := strings.Join(names, " "); got != ". .. 0 1 2 3 4" {
		t.Errorf("/proc/self/fd lists %q", got)
	}
	if n := f.ok(unix.SYS_GETDENTS64, dfd, buf, 4096); n != 0 {
		t.Errorf("second getdents64 = %d", n)
	}
	// readlinkat relative to the directory fd.
	if n := f.ok(unix.SYS_READLINKAT, dfd, f.str("3"), buf, 100); string(f.get(buf, int(n))) != "/bin/app" {
		t.Errorf("readlinkat(fd dir, 3) = %q", f.get(buf, int(n)))
	}
	if n := f.ok(unix.SYS_READLINKAT, dfd, f.str("4"), buf, 100); string(f.get(buf, int(n))) != "/proc/1/fd" {
		t.Errorf("link of the /proc fd itself = %q", f.get(buf, int(n)))
	}
	if st := f.lstat("/proc/self/fd/3"); st.Mode != unix.S_IFLNK|0o500 {
		t.Errorf("lstat fd/3 mode %o", st.Mode)
	}
	// Opening fd/N opens the file again with its own offset.
	f.ok(unix.SYS_LSEEK, fd, 100, unix.SEEK_SET)
	fd2 := f.open("/proc/self/fd/3", unix.O_RDONLY, 0)
	if r := f.ok(unix.SYS_LSEEK, fd2, 0, unix.SEEK_CUR); r != 0 {
		t.Errorf("reopened offset %d", r)
	}
	if s := f.readFile("/proc/self/fdinfo/3"); !strings.HasPrefix(s, "pos:\t100\nflags:\t0100000\n") {
		t.Errorf("fdinfo %q", s)
	}
	f.fails(unix.ENOENT, unix.SYS_READLINK, f.str("/proc/self/fd/99"), buf, 100)
	f.fails(unix.ENOENT, unix.SYS_READLINK, f.str("/proc/self/fd/03"), buf, 100)
	f.fails(unix.EINVAL, unix.SYS_READLINK, f.str("/proc/self/maps"), buf, 100)
	f.fails(unix.ENOTDIR, unix.SYS_OPENAT, atFDCWD, f.str("/proc/self/fd/3/x"), 0)
	f.fails(unix.ELOOP, unix.SYS_OPENAT, atFDCWD, f.str("/proc/self/fd/3"), unix.O_NOFOLLOW)
}

func TestProcSystemFiles(t *testing.T) {
	f := newProcFx(t)
	f.p.K.Plat.NumCPU = 4
	f.p.K.Plat.MemInfo = func() task.MemStats { return task.MemStats{Total: 2 << 30, Free: 1 << 30} }

	cpu := f.readFile("/proc/cpuinfo")
	if n := strings.Count(cpu, "processor\t: "); n != 4 {
		t.Errorf("cpuinfo lists %d processors", n)
	}
	if !strings.Contains(cpu, "processor\t: 3\n") || !strings.HasSuffix(cpu, "\n\n") {
		t.Errorf("cpuinfo:\n%s", cpu)
	}
	mem := f.readFile("/proc/meminfo")
	if !strings.HasPrefix(mem, "MemTotal:        2097152 kB\nMemFree:         1048576 kB\n") {
		t.Errorf("meminfo:\n%s", mem)
	}
	for _, l := range strings.Split(strings.TrimSuffix(mem, "\n"), "\n") {
		if !regexp.MustCompile(`^[A-Za-z_()]+:\s+\d+( kB)?$`).MatchString(l) {
			t.Errorf("bad meminfo line %q", l)
		}
	}
	up := strings.Fields(f.readFile("/proc/uptime"))
	if len(up) != 2 {
		t.Errorf("uptime %q", up)
	}
	for _, s := range up {
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			t.Errorf("uptime field %q", s)
		}
	}
	if v := f.readFile("/proc/version"); !strings.HasPrefix(v, "Linux version "+UnameRelease+" ") {
		t.Errorf("version %q", v)
	}
	if fsys := f.readFile("/proc/filesystems"); !strings.Contains(fsys, "nodev\tproc\n") {
		t.Errorf("filesystems %q", fsys)
	}
	if s := f.readFile("/proc/stat"); !strings.HasPrefix(s, "cpu  ") || !strings.Contains(s, "\ncpu3 ") {
		t.Errorf("/proc/stat %q", s)
	}
	for _, p := range []string{"online", "possible", "present"} {
		if s := f.readFile("/sys/devices/system/cpu/" + p); s != "0-3\n" {
			t.Errorf("/sys/devices/system/cpu/%s = %q", p, s)
		}
	}
	if s := f.readFile("/proc/self/status"); !strings.Contains(s, "Cpus_allowed:\t0000000f\n") {
		t.Errorf("status Cpus_allowed:\n%s", s)
	}
	f.p.K.Plat.NumCPU = 1
	if s := f.readFile("/sys/devices/system/cpu/online"); s != "0\n" {
		t.Errorf("online with 1 CPU = %q", s)
	}
	if s := f.readFile("/proc/sys/kernel/osrelease"); s != UnameRelease+"\n" {
		t.Errorf("osrelease %q", s)
	}
	// Listing /proc and /sys.
	dfd := f.open("/proc", unix.O_RDONLY|unix.O_DIRECTORY, 0)
	buf := f.alloc(8192)
	n := f.ok(unix.SYS_GETDENTS64, dfd, buf, 8192)
	names := map[string]uint8{}
	for _, d := range parseDirents64(t, f.get(buf, int(n))) {
		names[d.Name] = d.Type
	}
	if names["1"] != unix.DT_DIR || names["self"] != unix.DT_LNK || names["meminfo"] != unix.DT_REG {
		t.Errorf("/proc lists %v", names)
	}
	dfd = f.open("/sys/devices/system/cpu", unix.O_RDONLY|unix.O_DIRECTORY, 0)
	n = f.ok(unix.SYS_GETDENTS64, dfd, buf, 8192)
	if ds := parseDirents64(t, f.get(buf, int(n))); len(ds) != 6 || ds[5].Name != "cpu0" {
		t.Errorf("/sys/devices/system/cpu lists %v", ds)
	}
}

func TestProcOpenSemantics(t *testing.T) {
	f := newProcFx(t)
	open := func(want unix.Errno, path string, flags int) {
		t.Helper()
		f.fails(want, unix.SYS_OPENAT, atFDCWD, f.str(path), uintptr(flags), 0o644)
	}
	open(unix.EINVAL, "/proc/self/maps", unix.O_RDONLY|unix.O_CREAT|unix.O_DIRECTORY)
	open(unix.EISDIR, "/proc/self", unix.O_RDWR)
	open(unix.ENOENT, "/proc/nonexistent", unix.O_RDONLY)
	open(unix.ENOENT, "/proc/2/maps", unix.O_RDONLY)
	open(unix.ENOENT, "/proc/newfile", unix.O_CREAT|unix.O_WRONLY)
	open(unix.EACCES, "/sys/newfile", unix.O_CREAT|unix.O_WRONLY)
	// Root opens /proc files for writing; writes need a write operation.
	wfd := f.open("/proc/self/maps", unix.O_WRONLY, 0)
	f.fails(unix.EINVAL, unix.SYS_WRITE, wfd, f.str("x"), 1)
	f.fails(unix.EBADF, unix.SYS_READ, wfd, f.alloc(8), 8)
	cfd := f.open("/proc/self/comm", unix.O_WRONLY, 0)
	f.write(cfd, "renamed-thread-name")
	if s := f.readFile("/proc/self/comm"); s != "renamed-thread-\n" {
		t.Errorf("comm after write = %q", s)
	}
	SetComm(f.task, "app")
	ofd := f.open("/proc/self/oom_score_adj", unix.O_WRONLY, 0)
	f.write(ofd, "-500\n")
	f.fails(unix.EINVAL, unix.SYS_WRITE, ofd, f.str("2000"), 4)
	open(unix.EEXIST, "/proc/meminfo", unix.O_CREAT|unix.O_EXCL|unix.O_RDONLY)
	open(unix.ENOTDIR, "/proc/meminfo", unix.O_DIRECTORY)
	open(unix.ENOTDIR, "/proc/meminfo/", unix.O_RDONLY)
	open(unix.ENOENT, "/sys/nothing", unix.O_RDONLY)
	// Reads are a snapshot taken at open; lseek and pread work on it.
	fd := f.open("/proc/self/cmdline", unix.O_RDONLY, 0)
	if s := f.read(fd, 3); s != "app" {
		t.Errorf("read %q", s)
	}
	buf := f.alloc(8)
	if n := f.ok(unix.SYS_PREAD64, fd, buf, 2, 4); n != 2 || string(f.get(buf, 2)) != "-x" {
		t.Errorf("pread = %d %q", n, f.get(buf, 2))
	}
	f.ok(unix.SYS_LSEEK, fd, 0, unix.SEEK_SET)
	if s := f.read(fd, 100); s != "app\x00-x\x00arg two\x00" {
		t.Errorf("reread %q", s)
	}
	f.fails(unix.EBADF, unix.SYS_WRITE, fd, buf, 1)
	if fl := f.ok(unix.SYS_FCNTL, fd, unix.F_GETFL); fl != oLargeFile {
		t.Errorf("F_GETFL of a /proc file = %#o", fl)
	}
	if st := f.fstat(fd); st.Mode != unix.S_IFREG|0o444 || st.Size != 0 {
		t.Errorf("fstat of a /proc file: mode %o size %d", st.Mode, st.Size)
	}
	// dirfd-relative lookups inside /proc.
	dfd := f.open("/proc/self", unix.O_RDONLY|unix.O_DIRECTORY, 0)
	rel := uintptr(f.ok(unix.SYS_OPENAT, dfd, f.str("comm"), unix.O_RDONLY))
	if s := f.read(rel, 100); s != "app\n" {
		t.Errorf("openat(/proc/self fd, comm) read %q", s)
	}
	if st := f.statAt(dfd, "exe", unix.AT_SYMLINK_NOFOLLOW); st.Mode&unix.S_IFMT != unix.S_IFLNK {
		t.Errorf("fstatat(/proc/self fd, exe, NOFOLLOW) mode %o", st.Mode)
	}
	// Relative paths reach /proc from the working directory.
	f.ok(unix.SYS_CHDIR, f.str("/tmp"))
	if s := f.readlink("../proc/self/exe"); s != "/bin/app" {
		t.Errorf("../proc/self/exe -> %q", s)
	}
	// A symlink of the root filesystem into /proc (Debian's /etc/mtab,
	// which the kernel creates when the image has none) leads there.
	f.ok(unix.SYS_SYMLINK, f.str("../proc/self/mounts"), f.str("/etc/mtab"))
	if s := f.readFile("/etc/mtab"); !strings.HasPrefix(s, "tmpfs / tmpfs ") {
		t.Errorf("/etc/mtab = %q", s)
	}
	if st := f.stat("/etc/mtab"); st.Mode != unix.S_IFREG|0o444 {
		t.Errorf("stat /etc/mtab mode %o", st.Mode)
	}
	// Attribute changes are refused.
	f.fails(unix.EPERM, unix.SYS_CHMOD, f.str("/proc/self/maps"), 0o600)
	f.fails(unix.EACCES, unix.SYS_TRUNCATE, f.str("/proc/self/maps"), 0)
	// /proc is a mounted filesystem: it can be the working directory.
	f.ok(unix.SYS_CHDIR, f.str("/proc/self"))
	if s := f.readlink("exe"); s != "/bin/app" {
		t.Errorf("exe from /proc/self -> %q", s)
	}
	f.ok(unix.SYS_CHDIR, f.str("/"))
	f.fails(unix.EACCES, unix.SYS_ACCESS, f.str("/proc/self/maps"), unix.X_OK)
	f.ok(unix.SYS_ACCESS, f.str("/proc/self/exe"), unix.X_OK)
	// O_PATH on a /proc symlink, then readlinkat(fd, "").
	pfd := f.open("/proc/self/exe", unix.O_PATH|unix.O_NOFOLLOW, 0)
	if n := f.ok(unix.SYS_READLINKAT, pfd, f.str(""), buf, 8); string(f.get(buf, int(n))) != "/bin/app" {
		t.Errorf("readlinkat(O_PATH link) = %q", f.get(buf, int(n)))
	}
}
