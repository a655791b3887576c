namespace ToyModels.Measure.Hardware;

/// <summary>
/// One progress line on stderr, rewritten in place on a terminal (so stdout stays the table); when
/// stderr is redirected, only the line of each finished phase is written.
/// </summary>
internal sealed class ProgressDisplay
{
    private readonly bool _live = !Console.IsErrorRedirected;
    private int _width;

    public void Update(string text)
    {
        if (!_live) return;
        string line = text.Length > 119 ? text[..119] : text;
        Console.Error.Write("\r" + line.PadRight(_width));
        _width = line.Length;
    }

    public void Done(string text)
    {
        if (_live) Console.Error.Write("\r" + new string(' ', _width) + "\r");
        _width = 0;
        Console.Error.WriteLine(text);
    }
}
