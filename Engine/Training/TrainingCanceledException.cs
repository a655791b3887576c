namespace ToyModels.Training;

/// <summary>
/// <see cref="Trainer.Run"/> stopped because its <see cref="CancellationToken"/> was cancelled. It is an
/// <see cref="OperationCanceledException"/> carrying that token, as every cancellable operation of the engine throws;
/// it adds what the run did until then.
/// </summary>
/// <remarks>
/// The token is checked before the first step and between steps, never inside one: the trainer and its backend hold the
/// state after exactly <see cref="TrainingResult.Steps"/> steps (= <see cref="Trainer.Step"/>), the bits a run of that many
/// steps leaves, so <see cref="Trainer.Save"/> or <see cref="Trainer.Snapshot"/> keeps it and a resumed run continues bit for bit.
/// </remarks>
public sealed class TrainingCanceledException : OperationCanceledException
{
    /// <summary>A cancelled run: <paramref name="result"/> up to its last completed step, <paramref name="token"/> the token that cancelled it.</summary>
    public TrainingCanceledException(TrainingResult result, CancellationToken token)
        : base($"training cancelled after step {result.Steps}", token) => Result = result;

    /// <summary>
    /// The run up to cancellation: <see cref="TrainingResult.Steps"/> completed in total, <see cref="TrainingResult.FinalLoss"/> the batch loss
    /// of the last of them (empty when this run completed none), the latest evaluation if any, the speed so far.
    /// </summary>
    public TrainingResult Result { get; }
}
