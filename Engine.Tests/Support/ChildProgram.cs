using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Text.Json;
using ToyModels.Backends;
using ToyModels.Backends.Simd;
using ToyModels.Backends.Simd.Lanes;
using ToyModels.Model;

namespace ToyModels.Tests.Support;

/// <summary>
/// The test assembly's own entry point, for checks that need a fresh process: the runtime reads
/// DOTNET_EnableAVX512, DOTNET_EnableAVX2 and DOTNET_EnableHWIntrinsic once, at start-up, so the
/// SIMD backend's choice of instruction set under them can only be seen in a child process.
/// The test runner never calls this; <c>dotnet ToyModels.Engine.Tests.dll simd-parity</c> does.
/// </summary>
public static class ChildProgram
{
    /// <summary>Ragged cases, small enough that the whole check takes a second or two.</summary>
    internal static readonly string[] SimdParityCases =
    [
        "n7-m17-B33-untied-decay-k3", "n17-m7-B1-tied-nobias-power", "n509-m33-B17-untied-power",
        "n33-m509-B7-untied", "n17-m7-B17-p1-dense", "n128-m64-B64-tied-k3", "n257-m9-B130-untied-decay-k2",
        "n33-m7-B17-sgd-momentum",
    ];

    public static int Main(string[] args)
    {
        if (args is not ["simd-parity"])
        {
            Console.Error.WriteLine("usage: dotnet ToyModels.Engine.Tests.dll simd-parity");
            return 2;
        }
        var mismatches = new List<string>();
        foreach (string name in SimdParityCases)
        {
            try { CompareWithReference(ParityCases.Get(name), name); }
            catch (Exception e) { mismatches.Add($"{name}: {e.Message}"); }
        }
        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["instructionSet"] = InstructionSets.Best.ToString(),
            ["avx512f"] = Avx512F.IsSupported,
            ["avx2"] = Avx2.IsSupported,
            ["fma"] = Fma.IsSupported,
            ["vector128"] = Vector128.IsHardwareAccelerated,
            ["cases"] = SimdParityCases.Length,
            ["mismatches"] = mismatches,
        }));
        return mismatches.Count == 0 ? 0 : 1;
    }

    /// <summary>Every operation of step 0, then whole steps, held to the reference bit for bit (throws at the first difference).</summary>
    private static void CompareWithReference(AutoencoderConfig config, string name)
    {
        using var expected = BackendFactory.Create(BackendKind.Reference, config);
        using var actual = BackendFactory.Create(BackendKind.Simd, config, new BackendOptions(Threads: 2));
        if (((SimdBackend)actual).InstructionSet != InstructionSets.Best)
            throw new InvalidOperationException($"the backend runs {((SimdBackend)actual).InstructionSet}, the process's best is {InstructionSets.Best}");
        var scalars = new OptimizerScalars(config);
        expected.GenerateBatch(0); actual.GenerateBatch(0);
        expected.Forward(); actual.Forward();
        expected.Backward(); actual.Backward();
        foreach (var tensor in new[] { TensorKind.X, TensorKind.H, TensorKind.Z, TensorKind.RowLoss, TensorKind.Gradients })
            Compare(expected, actual, tensor, name);
        expected.Update(scalars.Set(0)); actual.Update(scalars);
        for (long step = 1; step < 6; step++)
        {
            expected.Step(scalars.Set(step));
            actual.Step(scalars);
        }
        var e = new float[config.Layout.Total];
        var a = new float[e.Length];
        expected.GetParameters(e);
        actual.GetParameters(a);
        Bits.Equal(e, a, $"{name}: parameters after 6 steps");
        e = new float[config.Optimizer.StateSlots * config.Layout.Total];
        a = new float[e.Length];
        expected.GetOptimizerState(e);
        actual.GetOptimizerState(a);
        Bits.Equal(e, a, $"{name}: optimizer state after 6 steps");
    }

    private static void Compare(IBackend expected, IBackend actual, TensorKind tensor, string name)
    {
        var e = new float[((Backend)expected).ElementCount(tensor)];
        var a = new float[e.Length];
        expected.Read(tensor, e);
        actual.Read(tensor, a);
        Bits.Equal(e, a, $"{name}, step 0: {tensor}");
    }
}
