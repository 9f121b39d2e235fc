/* qemutrace.h - region-of-interest markers for programs run under qemutrace.
 *
 * x86: magic-NOP markers (preferred).  Each marker is one 8-byte instruction:
 *
 *     0F 1F 84 SS D0 D1 D2 D3      nopl disp32(%eax,%eax,scale)   (i386)
 *                                  nopl disp32(%rax,%rax,scale)   (x86_64)
 *
 *   SS (the SIB byte) = 0x00  START   (scale 1, index eax/rax, base eax/rax)
 *                     = 0x40  STOP    (scale 2)
 *                     = 0x80  CONFIRM (scale 4; legacy, below)
 *   D0..D3 = disp32, little-endian   = 0x51540000 | id   ("QT" + 16-bit id)
 *
 * The instruction is an architectural NOP: it never touches memory, so it is
 * harmless on hardware, under KVM and under plain QEMU.  The tracer recognises
 * it from its bytes at translation time.  The marker instructions themselves
 * are not part of the region.
 *
 * The id must be a compile-time constant in 0..65535 (it is encoded in the
 * instruction); anything else fails to compile or assemble.
 *
 * Usage (C or C++, gcc/clang, x86_64 or i386):
 *     qemutrace_start(1);  work();  qemutrace_stop(1);
 *
 * Legacy markers: qemutrace_legacy_start()/qemutrace_legacy_stop() emit
 * `int $100` / `int $101` (CD 64 / CD 65).  In a Linux user process these
 * raise SIGSEGV; run such programs under qemutrace-guest-run, which skips
 * them.  Prefer the magic NOPs.
 *
 * For hand-written asm, QEMUTRACE_START_ASM(id)/QEMUTRACE_STOP_ASM(id) expand
 * to the marker as an asm string; there id must be a literal integer token.
 *
 * aarch64: each marker is one 32-bit instruction that writes the zero
 * register, so it changes no state (an architectural NOP: harmless on
 * hardware, under KVM and under plain QEMU) and compilers never emit it:
 *
 *     START  movz xzr, #id, lsl #32     0xD2C0001F | id << 5
 *     STOP   movz xzr, #id, lsl #48     0xD2E0001F | id << 5
 *
 * (MOVZ 64-bit: sf=1 opc=10 100101 hw imm16 Rd; hw 2 and 3, Rd 31 = XZR.)
 * qemutrace_start(id), qemutrace_stop(id), QEMUTRACE_START_ASM(id) and
 * QEMUTRACE_STOP_ASM(id) work as on x86.  There are no legacy markers on
 * aarch64: nothing like `int $100` exists there, so qemutrace_legacy_* are
 * not defined.
 */
#ifndef QEMUTRACE_GUEST_QEMUTRACE_H
#define QEMUTRACE_GUEST_QEMUTRACE_H

/* The encodings, for every ISA (the tracer reads them on any host). */
#define QEMUTRACE_MARKER_START_SIB 0x00
#define QEMUTRACE_MARKER_STOP_SIB 0x40
#define QEMUTRACE_MARKER_CONFIRM_SIB 0x80 /* qemutrace_legacy_confirm() */
#define QEMUTRACE_MARKER_SIGNATURE 0x51540000u
#define QEMUTRACE_A64_MARKER_START 0xD2C0001Fu /* movz xzr, #0, lsl #32 */
#define QEMUTRACE_A64_MARKER_STOP 0xD2E0001Fu  /* movz xzr, #0, lsl #48 */
#define QEMUTRACE_A64_MARKER_ID_SHIFT 5        /* imm16 at bits 20:5 */

#define QEMUTRACE_STR_(x) #x
#define QEMUTRACE_XSTR_(x) QEMUTRACE_STR_(x)

#if defined(__aarch64__)

#define QEMUTRACE_A64_MARKER_(base, id)                                       \
  __asm__ __volatile__(                                                       \
      ".if ((%c0) < 0) || ((%c0) > 0xffff)\n\t"                               \
      ".error \"qemutrace marker id must be in 0..65535\"\n\t"                \
      ".endif\n\t"                                                            \
      "movz xzr, #(%c0), lsl #" base                                          \
      :                                                                       \
      : "i"(id)                                                               \
      : "memory")

#define qemutrace_start(id) QEMUTRACE_A64_MARKER_("32", id)
#define qemutrace_stop(id) QEMUTRACE_A64_MARKER_("48", id)
#define QEMUTRACE_START_ASM(id) "movz xzr, #" QEMUTRACE_STR_(id) ", lsl #32\n\t"
#define QEMUTRACE_STOP_ASM(id) "movz xzr, #" QEMUTRACE_STR_(id) ", lsl #48\n\t"

#elif defined(__x86_64__) || defined(__i386__)

/* The .if/.error turns an out-of-range id into an assembler error rather than
 * a silently truncated marker. */
#define QEMUTRACE_MARKER_(sib, id)                                            \
  __asm__ __volatile__(                                                       \
      ".if ((%c0) < 0) || ((%c0) > 0xffff)\n\t"                               \
      ".error \"qemutrace marker id must be in 0..65535\"\n\t"                \
      ".endif\n\t"                                                            \
      ".byte 0x0f, 0x1f, 0x84, " #sib "\n\t"                                  \
      ".long 0x51540000 + (%c0)"                                              \
      :                                                                       \
      : "i"(id)                                                               \
      : "memory")

#define qemutrace_start(id) QEMUTRACE_MARKER_(0x00, id)
#define qemutrace_stop(id) QEMUTRACE_MARKER_(0x40, id)

#define QEMUTRACE_START_ASM(id) \
  ".byte 0x0f, 0x1f, 0x84, 0x00\n\t.long 0x51540000 + " QEMUTRACE_STR_(id) "\n\t"
#define QEMUTRACE_STOP_ASM(id) \
  ".byte 0x0f, 0x1f, 0x84, 0x40\n\t.long 0x51540000 + " QEMUTRACE_STR_(id) "\n\t"

#define QEMUTRACE_LEGACY_START_ASM "int $100\n\t"
#define QEMUTRACE_LEGACY_STOP_ASM "int $101\n\t"
#define qemutrace_legacy_start() __asm__ __volatile__("int $100" ::: "memory")
#define qemutrace_legacy_stop() __asm__ __volatile__("int $101" ::: "memory")

/* Whoever steps a user process past an `int $100` (qemutrace-guest-run, or a
 * SIGSEGV handler) confirms it right after moving the IP, before the process
 * resumes: `resume` is the new IP (the int's address + 2), `sp` the
 * process's stack pointer. Tracing starts only at a confirmed return point,
 * so an `int $100` whose process never resumes there (killed, exited,
 * exec'd) cannot start tracing later in another process. The marker is a
 * NOP (0F 1F 84 80 + signature) with the arguments in RAX/EAX and RDX/EDX. */
static inline void qemutrace_legacy_confirm(unsigned long resume, unsigned long sp) {
  __asm__ __volatile__(".byte 0x0f, 0x1f, 0x84, " QEMUTRACE_XSTR_(QEMUTRACE_MARKER_CONFIRM_SIB) "\n\t"
                       ".long 0x51540000"
                       :
                       : "a"(resume), "d"(sp)
                       : "memory");
}

#else
#error "qemutrace.h: markers are defined for x86_64, i386 and aarch64 only"
#endif

#endif
