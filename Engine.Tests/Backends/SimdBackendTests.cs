using System.Text.Json;
using ToyModels.Backends;
using ToyModels.Backends.Simd;
using ToyModels.Backends.Simd.Lanes;
using ToyModels.Model;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Backends;

/// <summary>The backend suite for the SIMD backend at the widest instruction set here, on 1, 2 and 3 threads.</summary>
public sealed class SimdBackendOneThreadTests : BackendSuite
{
    protected override IBackend Create(AutoencoderConfig config) => BackendFactory.Create(BackendKind.Simd, config, new BackendOptions(Threads: 1));
}

public sealed class SimdBackendTwoThreadTests : BackendSuite
{
    protected override IBackend Create(AutoencoderConfig config) => BackendFactory.Create(BackendKind.Simd, config, new BackendOptions(Threads: 2));
}

public sealed class SimdBackendThreeThreadTests : BackendSuite
{
    protected override IBackend Create(AutoencoderConfig config) => BackendFactory.Create(BackendKind.Simd, config, new BackendOptions(Threads: 3));
}

/// <summary>
/// The suite with the vector width forced below the machine's best, in this process: every narrower
/// path (and the scalar one) is held to the reference too. The child-process tests check that the
/// runtime's own switches select them.
/// </summary>
public abstract class SimdNarrowerTests : BackendSuite
{
    private readonly InstructionSet set;
    private readonly int threads;

    // Not a primary constructor: InstructionSet is internal, so the constructor may be seen only in this assembly.
    private protected SimdNarrowerTests(InstructionSet set, int threads) => (this.set, this.threads) = (set, threads);

    protected override string? SkipReason => Unavailable(set);

    protected override IBackend Create(AutoencoderConfig config) => Initialized(new SimdBackend(config, threads, set), config);
}

/// <summary>
/// The suite with the backward products held to one path whatever g_z's density: dense wherever that is
/// exact (threshold 0), or always sparse (threshold above 1), so both are checked against the reference on
/// every shape, not only on the shapes whose density happens to cross the default threshold.
/// </summary>
public abstract class SimdPathTests : BackendSuite
{
    private readonly double denseDensity;
    private readonly InstructionSet set;
    private readonly int threads;

    private protected SimdPathTests(double denseDensity, InstructionSet set, int threads) =>
        (this.denseDensity, this.set, this.threads) = (denseDensity, set, threads);

    protected override string? SkipReason => Unavailable(set);

    protected override IBackend Create(AutoencoderConfig config) =>
        Initialized(new SimdBackend(config, threads, set) { DenseDensity = denseDensity }, config);
}

public sealed class SimdAlwaysDenseTests() : SimdPathTests(0.0, InstructionSets.Best, 2);
public sealed class SimdAlwaysSparseTests() : SimdPathTests(2.0, InstructionSets.Best, 3);
public sealed class SimdAlwaysSparseScalarTests() : SimdPathTests(2.0, InstructionSet.Scalar, 2);
public sealed class SimdAlwaysSparseAvx512Tests() : SimdPathTests(2.0, InstructionSet.Avx512, 2);

/// <summary>
/// The suite with a pack's whole steps taken block by block of instances on all threads (one, or two: ragged blocks
/// of the 3-instance cases), each block's activations in the first instances' rooms. (The suites above take the
/// cache's choice, which for their small shapes is the whole pack in one block.)
/// </summary>
public abstract class SimdInstanceBlockTests(int block, int threads) : BackendSuite
{
    protected override IBackend Create(AutoencoderConfig config) =>
        Initialized(new SimdBackend(config, threads) { InstanceBlock = block, InstancesPerThread = false }, config);
}

public sealed class SimdOneInstanceBlockTests() : SimdInstanceBlockTests(1, 2);
public sealed class SimdTwoInstanceBlockTests() : SimdInstanceBlockTests(2, 3);

/// <summary>
/// The suite with a pack of at least as many instances as threads giving each thread whole instances (what a pack
/// too large for the cache does): on 2 threads every instance of the 2- and 4-instance cases, on 3 threads 3 of the
/// 4-instance case with the one left over (and packs smaller than the threads) taken in blocks of one.
/// </summary>
public abstract class SimdWholeInstanceTests(int threads) : BackendSuite
{
    protected override IBackend Create(AutoencoderConfig config) =>
        Initialized(new SimdBackend(config, threads) { InstanceBlock = 1, InstancesPerThread = true }, config);
}

public sealed class SimdWholeInstanceTwoThreadTests() : SimdWholeInstanceTests(2);
public sealed class SimdWholeInstanceThreeThreadTests() : SimdWholeInstanceTests(3);

/// <summary>
/// The suite with the decoder leaving out every empty sample (no active feature) whenever there is one, where by
/// default it does so only when that pays: the sparse cases (p 0 to 0.1, some with hundreds of samples) hold it to the reference.
/// </summary>
public sealed class SimdEmptySamplesOnceTests : BackendSuite
{
    protected override IBackend Create(AutoencoderConfig config) =>
        Initialized(new SimdBackend(config, threads: 3) { DecodeEmptyOnce = true }, config);
}

public sealed class SimdAvx2Tests() : SimdNarrowerTests(InstructionSet.Avx2, 2);
public sealed class SimdSseTests() : SimdNarrowerTests(InstructionSet.Sse, 3);
public sealed class SimdScalarTests() : SimdNarrowerTests(InstructionSet.Scalar, 2);

/// <summary>
/// The runtime's own switches, in child processes: each must lower the SIMD backend's instruction set
/// (asserted in the child, where the runtime read them) and the backend must still give the reference's bits.
/// </summary>
[Trait("Category", "Slow")]
public sealed class SimdInstructionSetForcingTests
{
    public static TheoryData<string> Switches => new() { "", "DOTNET_EnableAVX512", "DOTNET_EnableAVX2", "DOTNET_EnableHWIntrinsic" };

    [Theory]
    [MemberData(nameof(Switches))]
    public void Each_switch_lowers_the_instruction_set_and_the_bits_stay_the_reference_bits(string variable)
    {
        var environment = new Dictionary<string, string>();
        if (variable != "") environment[variable] = "0";
        var result = SampleProcess.Run("ToyModels.Engine.Tests", ["simd-parity"], environment, timeoutSeconds: 120);
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}\n{result.Out}\n{result.Error}");
        var root = JsonDocument.Parse(result.LastLine).RootElement;
        var set = Enum.Parse<InstructionSet>(root.GetProperty("instructionSet").GetString()!);
        Assert.Equal(ChildProgram.SimdParityCases.Length, root.GetProperty("cases").GetInt32());
        Assert.Empty(root.GetProperty("mismatches").EnumerateArray());
        switch (variable)
        {
            case "":
                Assert.Equal(InstructionSets.Best, set);
                break;
            case "DOTNET_EnableAVX512":
                Assert.False(root.GetProperty("avx512f").GetBoolean());
                Assert.True(set <= InstructionSet.Avx2, $"{set} with AVX-512 off");
                if (InstructionSets.Best >= InstructionSet.Avx2) Assert.Equal(InstructionSet.Avx2, set);
                break;
            case "DOTNET_EnableAVX2":
                Assert.False(root.GetProperty("avx2").GetBoolean());
                Assert.True(set <= InstructionSet.Sse, $"{set} with AVX2 off");
                break;
            case "DOTNET_EnableHWIntrinsic":
                Assert.False(root.GetProperty("vector128").GetBoolean());
                Assert.Equal(InstructionSet.Scalar, set);
                break;
        }
    }
}

/// <summary>After warm-up a training step allocates nothing on the calling thread (which runs the phases and a share of the items).</summary>
public sealed class SimdStepAllocationTests
{
    [Theory]
    [InlineData(SimdBackend.DefaultDenseDensity)] // the fused loss and sparse g_h walk after the first step
    [InlineData(0.0)]                             // the dense paths
    [InlineData(2.0)]                             // the sparse paths from the first step
    public void A_training_step_allocates_nothing_after_warm_up(double denseDensity)
    {
        var config = ParityCases.Make(256, 32, 128, false, true, 0.05, Importance.Uniform, 2);
        using var backend = new SimdBackend(config, threads: 2) { DenseDensity = denseDensity };
        backend.SetParameters(Initialization.Create(config));
        var scalars = new OptimizerScalars(config);
        for (long step = 0; step < 40; step++) backend.Step(scalars.Set(step));
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (long step = 40; step < 50; step++) backend.Step(scalars.Set(step));
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
