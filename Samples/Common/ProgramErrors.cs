using ToyModels.Backends;
using ToyModels.IO;
using ToyModels.Memory;
using ToyModels.Model;
using ToyModels.Training;

namespace ToyModels.Samples;

/// <summary>
/// The exit codes every sample keeps: 0 done; 2 bad input (one line naming the option, the value and
/// what is accepted; no stack trace), and a run that would not fit in the memory available (one line with the
/// figures); 3 diverged; 1 anything else, with a message (an allocation that fails anyway among them; a cancelled
/// operation). Messages are one line (<see cref="OneLine"/>), whatever a file they quote holds, and name options, not
/// the engine's settings (<see cref="OptionNames"/>).
/// </summary>
public static class ProgramErrors
{
    /// <summary>Exit code: the program did what it was asked.</summary>
    public const int Done = 0;
    /// <summary>Exit code: anything else went wrong (the message says what), or the run was cancelled.</summary>
    public const int Failed = 1;
    /// <summary>Exit code: bad input (an option, a file, a run too large for the memory available).</summary>
    public const int BadInput = 2;
    /// <summary>Exit code: training diverged.</summary>
    public const int Diverged = 3;

    /// <summary>Runs the program body and maps exceptions onto exit codes and one-line messages.</summary>
    /// <param name="body">The program; returns its exit code.</param>
    /// <param name="options">This program's own option names for engine settings, where they differ from <see cref="OptionNames.Standard"/>.</param>
    public static int Run(Func<int> body, IReadOnlyDictionary<string, string>? options = null)
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
            Error($"error: {OptionNames.Translate(e.Field, options)}: {e.Value} is invalid; accepted: {OptionNames.Translate(e.Accepted, options)}");
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
            Error($"diverged: {OptionNames.Translate(e.Message, options)}");
            return Diverged;
        }
        catch (OperationCanceledException e)
        {
            Error($"cancelled: {e.Message}");
            return Failed;
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
}
