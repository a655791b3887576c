using ToyModels.Backends;
using ToyModels.IO;
using ToyModels.Memory;
using ToyModels.Model;
using ToyModels.Training;

namespace ToyModels.Samples;

/// <summary>
/// The exit codes every sample keeps: 0 done; 2 bad input (one line naming the option, the value and
/// what is accepted; no stack trace), and a run that would not fit in the memory available (one line with the
/// figures); 3 diverged; 1 anything else, with a message (an allocation that fails anyway among them). Messages
/// are one line (<see cref="OneLine"/>), whatever a file they quote holds.
/// </summary>
public static class ProgramErrors
{
    public const int Done = 0, Failed = 1, BadInput = 2, Diverged = 3;

    /// <summary>Runs the program body and maps exceptions onto exit codes and one-line messages.</summary>
    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (UsageException e)
        {
            Error($"error: {e.Message}");
            return BadInput;
        }
        catch (ConfigException e)
        {
            Error($"error: {Options(e.Field)}: {e.Value} is invalid; accepted: {e.Accepted}");
            return BadInput;
        }
        catch (CheckpointException e)
        {
            Error($"error: {e.Message}");
            return BadInput;
        }
        catch (MemoryRefusedException e)
        {
            Error($"error: {e.Message}; a smaller --batch, --instances, --n or --m needs less");
            return BadInput;
        }
        catch (OutOfMemoryException e)
        {
            // The estimate said the run fits, yet an allocation failed: memory was taken meanwhile, or a limit the check cannot see.
            Error($"error: out of memory ({e.Message}); {AvailableMemory.Now().Describe()} is available now");
            return Failed;
        }
        catch (DivergenceException e)
        {
            Error($"diverged: {e.Message}");
            return Diverged;
        }
        catch (BackendUnavailableException e)
        {
            Error($"error: {e.Message}");
            return Failed;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Error($"error: {e.Message}");
            return Failed;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"error: unexpected failure, please report it: {e}");
            return Failed;
        }
    }

    /// <summary>Writes one line to standard error.</summary>
    public static void Error(string message) => Console.Error.WriteLine(OneLine.Of(message));

    /// <summary>"n, m, instances" becomes "--n, --m, --instances"; "instances[2].p" becomes "--p (instance 2)".</summary>
    public static string Options(string field) => string.Join(", ", field.Split(", ").Select(f =>
    {
        if (f.StartsWith("instances[", StringComparison.Ordinal))
        {
            int close = f.IndexOf(']');
            return $"--{f[(close + 2)..]} (instance {f[10..close]})";
        }
        return "--" + f;
    }));
}
