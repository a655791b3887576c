namespace ToyModels.Backends.OpenCl;

/// <summary>What the engine needs to know about one OpenCL device before it trusts it with training.</summary>
/// <param name="Index">Position among all devices of all platforms, in discovery order: the --device number.</param>
/// <param name="SingleFpConfig">CL_DEVICE_SINGLE_FP_CONFIG.</param>
internal sealed record OpenClDeviceInfo(
    int Index,
    nint Platform,
    nint Device,
    string PlatformName,
    string Name,
    string DriverVersion,
    ulong Type,
    ulong SingleFpConfig,
    int ComputeUnits,
    long GlobalMemoryBytes,
    long MaxAllocationBytes)
{
    public bool IsGpu => (Type & OpenClApi.DeviceTypeGpu) != 0;

    public string TypeName => (Type & OpenClApi.DeviceTypeGpu) != 0 ? "GPU"
        : (Type & OpenClApi.DeviceTypeCpu) != 0 ? "CPU"
        : (Type & OpenClApi.DeviceTypeAccelerator) != 0 ? "accelerator" : "other";

    /// <summary>For people: "#0 NVIDIA H100 80GB HBM3 (GPU, NVIDIA CUDA, driver 570.86, 132 compute units, 81008 MiB)".</summary>
    public string Describe() =>
        $"#{Index} {Name} ({TypeName}, {PlatformName}, driver {DriverVersion}, {ComputeUnits} compute units, {GlobalMemoryBytes >> 20} MiB)";

    /// <summary>
    /// Why this device cannot produce the engine's bits, or null: single precision must have a true
    /// fused multiply-add (CL_FP_FMA), denormals (CL_FP_DENORM) and correctly rounded division and
    /// square root (CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT); DESIGN section 2, rule 3.
    /// </summary>
    public string? ParityProblem()
    {
        var missing = new List<string>();
        if ((SingleFpConfig & OpenClApi.FpFma) == 0) missing.Add("CL_FP_FMA (a fused multiply-add rounded once)");
        if ((SingleFpConfig & OpenClApi.FpDenorm) == 0) missing.Add("CL_FP_DENORM (single-precision denormals)");
        if ((SingleFpConfig & OpenClApi.FpCorrectlyRoundedDivideSqrt) == 0)
            missing.Add("CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT (IEEE division and square root)");
        return missing.Count == 0 ? null
            : $"OpenCL device #{Index} {Name} cannot compute the engine's bits: its single precision lacks {string.Join(", ", missing)}";
    }
}
