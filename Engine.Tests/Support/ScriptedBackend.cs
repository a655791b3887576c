using ToyModels.Backends;
using ToyModels.Model;

namespace ToyModels.Tests.Support;

/// <summary>Rows of an evaluation call, as <see cref="IBackend.Evaluate"/> takes them.</summary>
public delegate void EvaluateRows(long firstSample, int count, Span<float> rowLoss);

/// <summary>
/// A backend whose evaluation a test scripts (to fail, or to answer instantly for sizes a real backend would
/// take minutes over); everything else goes to <paramref name="inner"/>, or is refused when there is none.
/// </summary>
public sealed class ScriptedBackend(AutoencoderConfig config, EvaluateRows evaluate, IBackend? inner = null) : IBackend
{
    private IBackend Inner => inner ?? throw new NotSupportedException("this scripted backend only evaluates");

    public string Name => "scripted";
    public string Description => "scripted evaluation";
    public int Threads => 1;
    public AutoencoderConfig Config => config;

    public void Evaluate(long firstSample, int count, Span<float> rowLoss) => evaluate(firstSample, count, rowLoss);

    public void ReadParameters(long start, Span<float> destination) => Inner.ReadParameters(start, destination);
    public void WriteParameters(long start, ReadOnlySpan<float> source) => Inner.WriteParameters(start, source);
    public void ReadOptimizerState(long start, Span<float> destination) => Inner.ReadOptimizerState(start, destination);
    public void WriteOptimizerState(long start, ReadOnlySpan<float> source) => Inner.WriteOptimizerState(start, source);
    public void GenerateBatch(long step) => Inner.GenerateBatch(step);
    public void Forward() => Inner.Forward();
    public void Backward() => Inner.Backward();
    public void Update(OptimizerScalars scalars) => Inner.Update(scalars);
    public void Step(OptimizerScalars scalars) => Inner.Step(scalars);
    public void Read(TensorKind tensor, Span<float> destination) => Inner.Read(tensor, destination);
    public void ReadFirstNonFiniteStep(Span<long> firstStep) => Inner.ReadFirstNonFiniteStep(firstStep);
    public void Dispose() => inner?.Dispose();
}
