using ToyModels.Backends;
using ToyModels.Backends.Simd;
using ToyModels.Backends.Simd.Lanes;
using ToyModels.Model;

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
public abstract class SimdNarrowerTests(InstructionSet set, int threads) : BackendSuite
{
    protected override string? SkipReason =>
        set > InstructionSets.Best ? $"{InstructionSets.Name(set)} is not available on this machine" : null;

    protected override IBackend Create(AutoencoderConfig config)
    {
        var backend = new SimdBackend(config, threads, set);
        backend.SetParameters(Initialization.Create(config));
        return backend;
    }
}

public sealed class SimdAvx2Tests() : SimdNarrowerTests(InstructionSet.Avx2, 2);
public sealed class SimdSseTests() : SimdNarrowerTests(InstructionSet.Sse, 3);
public sealed class SimdScalarTests() : SimdNarrowerTests(InstructionSet.Scalar, 2);
