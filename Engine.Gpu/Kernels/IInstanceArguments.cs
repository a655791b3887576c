namespace ToyModels.Gpu.Kernels;

/// <summary>
/// The arguments of a kernel, one struct per kernel so that every argument is named at the launch
/// and its type checked by the compiler. Instances are grid dimension 1; a launch covers instances
/// FirstInstance .. FirstInstance + gridDim.y - 1, so runtimes with a small grid dimension 1 (CUDA:
/// 65535) launch many instances in chunks.
/// </summary>
internal interface IInstanceArguments
{
    int FirstInstance { get; set; }
}
