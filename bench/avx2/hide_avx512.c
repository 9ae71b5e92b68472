/* Run a program as on a CPU with AVX2 but no AVX-512, AVX-VNNI, AMX or bfloat16: LD_PRELOAD this
 * library (bench/avx2/run). It turns on CPUID faulting (Linux arch_prctl ARCH_SET_CPUID; Intel since
 * Ivy Bridge, AMD Zen 4 and later), answers each CPUID from the real one with those feature bits
 * cleared, and serves /proc/cpuinfo with their flags removed. onnxruntime, numpy, faiss and the
 * project's own choice of question model (embed/cpu.py) then take their AVX2 code paths on the same
 * cores, caches and clock: what an AVX2 CPU's instructions cost, not what an older CPU's cores do. */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

static int masked_cpuinfo = -1; /* a memfd holding /proc/cpuinfo without the hidden flags */

static void real_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
  syscall(SYS_arch_prctl, ARCH_SET_CPUID, 1);
  __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
  syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0);
}

static void on_cpuid_fault(int sig, siginfo_t *info, void *context) {
  (void)sig; (void)info;
  greg_t *reg = ((ucontext_t *)context)->uc_mcontext.gregs;
  const unsigned char *ip = (const unsigned char *)reg[REG_RIP];
  if (ip[0] != 0x0f || ip[1] != 0xa2) { /* a real segmentation fault: die of it */
    signal(SIGSEGV, SIG_DFL);
    return;
  }
  uint32_t leaf = (uint32_t)reg[REG_RAX], sub = (uint32_t)reg[REG_RCX], r[4];
  real_cpuid(leaf, sub, r);
  if (leaf == 7 && sub == 0) {
    /* EBX: AVX512 F, DQ, IFMA, PF, ER, CD, BW, VL; ECX: VBMI, VBMI2, VNNI, BITALG, VPOPCNTDQ;
       EDX: 4VNNIW, 4FMAPS, VP2INTERSECT, AMX-BF16, AVX512-FP16, AMX-TILE, AMX-INT8. */
    r[1] &= ~((1u << 16) | (1u << 17) | (1u << 21) | (1u << 26) | (1u << 27) | (1u << 28) | (1u << 30) | (1u << 31));
    r[2] &= ~((1u << 1) | (1u << 6) | (1u << 11) | (1u << 12) | (1u << 14));
    r[3] &= ~((1u << 2) | (1u << 3) | (1u << 8) | (1u << 22) | (1u << 23) | (1u << 24) | (1u << 25));
  } else if (leaf == 7 && sub == 1) {
    r[0] &= ~((1u << 4) | (1u << 5) | (1u << 21) | (1u << 23)); /* AVX-VNNI, AVX512-BF16, AMX-FP16, AVX-IFMA */
    r[3] &= ~((1u << 4) | (1u << 5) | (1u << 19));             /* AVX-VNNI-INT8, AVX-NE-CONVERT, AVX10 */
  }
  reg[REG_RAX] = r[0]; reg[REG_RBX] = r[1]; reg[REG_RCX] = r[2]; reg[REG_RDX] = r[3];
  reg[REG_RIP] += 2;
}

static int hidden_flag(const char *flag, size_t n) {
  return (n >= 6 && strncmp(flag, "avx512", 6) == 0) || (n >= 3 && strncmp(flag, "amx", 3) == 0) ||
         (n == 8 && strncmp(flag, "avx_vnni", 8) == 0);
}

static void mask_cpuinfo(void) {
  FILE *in = fopen("/proc/cpuinfo", "r");
  if (!in) return;
  int out = memfd_create("cpuinfo", 0);
  char *line = NULL;
  size_t size = 0;
  ssize_t n;
  while ((n = getline(&line, &size, in)) > 0) {
    if (strncmp(line, "flags", 5) != 0) {
      if (write(out, line, (size_t)n) < 0) break;
      continue;
    }
    char *colon = strchr(line, ':');
    size_t head = colon ? (size_t)(colon - line) + 1 : (size_t)n;
    if (write(out, line, head) < 0) break;
    for (char *word = line + head; *word;) {
      size_t gap = strspn(word, " \t\n"), len;
      word += gap;
      len = strcspn(word, " \t\n");
      if (len && !hidden_flag(word, len)) {
        if (write(out, " ", 1) < 0 || write(out, word, len) < 0) break;
      }
      word += len;
    }
    if (write(out, "\n", 1) < 0) break;
  }
  free(line);
  fclose(in);
  masked_cpuinfo = out;
}

/* Every open of /proc/cpuinfo reads the masked copy, from its start. */
static int redirected(const char *path) {
  if (masked_cpuinfo < 0 || !path || strcmp(path, "/proc/cpuinfo") != 0) return -1;
  char self[64];
  snprintf(self, sizeof self, "/proc/self/fd/%d", masked_cpuinfo);
  int (*real_open)(const char *, int, ...) = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open64");
  return real_open(self, O_RDONLY);
}

#define OPEN_WRAPPER(name, ...)                                                             \
  int name(__VA_ARGS__) {                                                                   \
    int fd = redirected(path);                                                              \
    if (fd >= 0) return fd;                                                                 \
    mode_t mode = 0;                                                                        \
    if (flags & (O_CREAT | O_TMPFILE)) { va_list ap; va_start(ap, flags); mode = va_arg(ap, mode_t); va_end(ap); } \
    return REAL_CALL;                                                                       \
  }

#define REAL_CALL ((int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open"))(path, flags, mode)
OPEN_WRAPPER(open, const char *path, int flags, ...)
#undef REAL_CALL
#define REAL_CALL ((int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open64"))(path, flags, mode)
OPEN_WRAPPER(open64, const char *path, int flags, ...)
#undef REAL_CALL
#define REAL_CALL ((int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT, "openat"))(dir, path, flags, mode)
OPEN_WRAPPER(openat, int dir, const char *path, int flags, ...)
#undef REAL_CALL
#define REAL_CALL ((int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT, "openat64"))(dir, path, flags, mode)
OPEN_WRAPPER(openat64, int dir, const char *path, int flags, ...)
#undef REAL_CALL

__attribute__((constructor)) static void hide_avx512(void) {
  mask_cpuinfo();
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = on_cpuid_fault;
  action.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigaction(SIGSEGV, &action, NULL);
  if (syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0) != 0) {
    fprintf(stderr, "hide_avx512: this CPU or kernel has no CPUID faulting; nothing is hidden\n");
    exit(3);
  }
}
