/* The CUDA C side of the kernel dialect (training.kernels.c is written against these names only).
   Every float operation is an explicit round-to-nearest intrinsic, so nothing can be contracted or
   approximated whatever the compiler flags; NVRTC still gets --fmad=false --ftz=false
   --prec-div=true --prec-sqrt=true (DESIGN section 2, rule 3). */

typedef unsigned int u32;
typedef unsigned long long u64;

#define KERNEL extern "C" __global__
#define GLOBAL
#define LOCAL __shared__
#define RESTRICT __restrict__
#define DEVICE_FN static __device__ __forceinline__

#define GROUP_ID blockIdx.x
#define LOCAL_ID threadIdx.x
#define INSTANCE_GROUP blockIdx.y
#define BARRIER __syncthreads()

#define FADD(a, b) __fadd_rn((a), (b))
#define FSUB(a, b) __fsub_rn((a), (b))
#define FMUL(a, b) __fmul_rn((a), (b))
#define FDIV(a, b) __fdiv_rn((a), (b))
#define FSQRT(a) __fsqrt_rn(a)
#define FMA(a, b, c) __fmaf_rn((a), (b), (c))

#define MUL_HI(a, b) __umulhi((u32)(a), (u32)(b))
#define FLOAT_BITS(a) __float_as_uint(a)
#define ATOMIC_CAS_U32(p, expected, desired) atomicCAS((p), (expected), (desired))
