#pragma OPENCL FP_CONTRACT OFF
/* The OpenCL C side of the kernel dialect (training.kernels.c is written against these names only).
   FP_CONTRACT OFF comes first: POCL and others fuse a*b+c on their own without it (DESIGN section 2,
   rule 3). The program is built with -cl-fp32-correctly-rounded-divide-sqrt, so / and sqrt are the
   IEEE operations; fma() is the correctly rounded fused multiply-add. */

typedef uint u32;
typedef ulong u64;

#define KERNEL __kernel
#define GLOBAL __global
#define LOCAL __local
#define RESTRICT restrict
#define DEVICE_FN static inline

#define GROUP_ID get_group_id(0)
#define LOCAL_ID get_local_id(0)
#define INSTANCE_GROUP get_group_id(1)
#define BARRIER barrier(CLK_LOCAL_MEM_FENCE)

#define FADD(a, b) ((a) + (b))
#define FSUB(a, b) ((a) - (b))
#define FMUL(a, b) ((a) * (b))
#define FDIV(a, b) ((a) / (b))
#define FSQRT(a) sqrt(a)
#define FMA(a, b, c) fma((a), (b), (c))

#define MUL_HI(a, b) mul_hi((u32)(a), (u32)(b))
#define FLOAT_BITS(a) as_uint(a)
#define ATOMIC_CAS_U32(p, expected, desired) atomic_cmpxchg((volatile GLOBAL u32*)(p), (expected), (desired))
