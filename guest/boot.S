/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* guest/boot.S - multiboot v1 entry, GDT, IDT, PIC, PIT and interrupt stubs.
 *
 * QEMU's -kernel multiboot loader enters _start in 32-bit protected mode,
 * paging off, EAX = 0x2BADB002, EBX = physical address of the multiboot
 * info.  We trust nothing else it set up: own stack, GDT and IDT. */

#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000002 /* bit 1: give us mem_lower/mem_upper */

#define CODE_SEL 0x08
#define DATA_SEL 0x10

#define PIT_HZ 1193182
#define TICK_HZ 1000

	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.section .bss
	.align 16
stack_bottom:
	.skip 65536
stack_top:

	.section .data
	.align 8
gdt:
	.quad 0
	.quad 0x00CF9A000000FFFF /* 0x08: flat 4 GiB code, ring 0 */
	.quad 0x00CF92000000FFFF /* 0x10: flat 4 GiB data, ring 0 */
gdt_end:
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt

	.align 8
idt:
	.skip 256 * 8
idt_end:
idt_desc:
	.word idt_end - idt - 1
	.long idt

	.align 4
	.globl g_ticks
g_ticks:
	.long 0

	.section .text
	.globl _start
_start:
	cli
	cld
	mov $stack_top, %esp
	lgdt gdt_desc
	ljmp $CODE_SEL, $1f
1:	mov $DATA_SEL, %cx
	mov %cx, %ds
	mov %cx, %es
	mov %cx, %fs
	mov %cx, %gs
	mov %cx, %ss
	mov $stack_top, %esp
	pushl $0
	popfl
	/* eax/ebx still hold the multiboot magic and info pointer */
	mov %eax, %esi
	mov %ebx, %edi

	call idt_setup
	call pic_setup
	call pit_setup

	push %edi
	push %esi
	call guest_main /* does not return */
2:	cli
	hlt
	jmp 2b

/* Fill one IDT gate: eax = handler, ecx = vector.  32-bit interrupt gate. */
set_gate:
	lea idt(,%ecx,8), %edx
	mov %ax, (%edx)
	movw $CODE_SEL, 2(%edx)
	movw $0x8E00, 4(%edx)
	shr $16, %eax
	mov %ax, 6(%edx)
	ret

idt_setup:
	push %ebx
	/* every vector first gets the "ignore" handler */
	xor %ebx, %ebx
1:	mov $isr_ignore, %eax
	mov %ebx, %ecx
	call set_gate
	inc %ebx
	cmp $256, %ebx
	jne 1b
	/* CPU exceptions 0..31: report and halt */
	xor %ebx, %ebx
2:	mov exc_table(,%ebx,4), %eax
	mov %ebx, %ecx
	call set_gate
	inc %ebx
	cmp $32, %ebx
	jne 2b
	/* IRQ0 (PIT) and IRQ14 (primary IDE) after the remap; IRQ14 stays
	 * masked until the disk code unmasks it (guest/disk.c) */
	mov $isr_timer, %eax
	mov $0x20, %ecx
	call set_gate
	mov $isr_ide, %eax
	mov $0x2E, %ecx
	call set_gate
	lidt idt_desc
	pop %ebx
	ret

/* 8259: remap IRQ0..15 to vectors 0x20..0x2F, mask everything but IRQ0. */
pic_setup:
	mov $0x11, %al /* ICW1: edge, cascade, ICW4 follows */
	out %al, $0x20
	out %al, $0xA0
	mov $0x20, %al /* ICW2: vector offsets */
	out %al, $0x21
	mov $0x28, %al
	out %al, $0xA1
	mov $0x04, %al /* ICW3: slave on IRQ2 */
	out %al, $0x21
	mov $0x02, %al
	out %al, $0xA1
	mov $0x01, %al /* ICW4: 8086 mode */
	out %al, $0x21
	out %al, $0xA1
	mov $0xFE, %al /* OCW1: only IRQ0 */
	out %al, $0x21
	mov $0xFF, %al
	out %al, $0xA1
	ret

/* PIT channel 0, mode 2 (rate generator), 1000 Hz. */
pit_setup:
	mov $0x34, %al
	out %al, $0x43
	mov $((PIT_HZ + TICK_HZ / 2) / TICK_HZ), %ax
	out %al, $0x40
	mov %ah, %al
	out %al, $0x40
	ret

isr_timer:
	incl g_ticks
	push %eax
	mov $0x20, %al /* non-specific EOI to the master */
	out %al, $0x20
	pop %eax
	iret

/* IDE completion: only wakes the hlt in ata_wait(), which reads the
 * status register (that acknowledges the drive).  EOI slave, then master. */
isr_ide:
	push %eax
	mov $0x20, %al
	out %al, $0xA0
	out %al, $0x20
	pop %eax
	iret

/* Masked IRQs cannot arrive; a spurious IRQ7/15 needs no EOI. */
isr_ignore:
	iret

/* Exception stubs: push a fake error code where the CPU pushes none, then
 * the vector, and report.  Vectors with an error code: 8, 10-14, 17, 21. */
	.macro EXC n
exc_\n:
	.if (\n == 8) || (\n >= 10 && \n <= 14) || (\n == 17) || (\n == 21)
	.else
	pushl $0
	.endif
	pushl $\n
	jmp exc_common
	.endm

	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	EXC \n
	.endr

exc_common:
	cld
	mov $DATA_SEL, %ax
	mov %ax, %ds
	mov %ax, %es
	/* stack: vector, error code, eip, cs, eflags */
	call guest_exception /* (vector, error, eip), does not return */
1:	cli
	hlt
	jmp 1b

	.section .rodata
	.align 4
exc_table:
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.long exc_\n
	.endr

	.section .note.GNU-stack, "", @progbits
