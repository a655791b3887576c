using System.Text;
using ToyModels.Sweeps;

namespace ToyModels.Tests.Sweeps;

public class ResultsFileTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("toymodels-results-").FullName;
    private string PathOf(string name) => Path.Combine(_folder, name);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static SweepResult Row(int k) => SweepResult.For(SweepGrid.Default.Runs[k], new string((char)('a' + k), 64)) with
    {
        TrainLoss = 0.1f / (k + 1), EvalLoss = 1.0 / 3, DStar = double.NaN, FeaturesRepresented = k, StepsPerSecond = 123.456789,
    };

    [Fact]
    public void Rows_round_trip_exactly_and_missing_values_stay_missing()
    {
        var row = Row(3);
        var back = SweepResult.Parse(row.ToCsv());
        Assert.Equal(row with { StepsPerSecond = 123.457 }, back);
        Assert.True(double.IsNaN(back.DStar));
        Assert.Equal(SweepResult.Columns.Length, row.ToCsv().Split(',').Length);
    }

    [Fact]
    public void Appended_rows_survive_reopening_and_a_torn_last_line_is_dropped()
    {
        string path = PathOf("results.csv");
        using (var file = ResultsFile.Open(path))
        {
            file.Append(Row(0));
            file.Append(Row(1));
            Assert.Throws<InvalidOperationException>(() => file.Append(Row(1)));
        }
        File.AppendAllText(path, Row(2).ToCsv()[..40]); // killed mid-write
        using (var file = ResultsFile.Open(path))
        {
            Assert.Equal(40, file.DroppedBytes);
            Assert.Equal(["0", "1"], file.Rows.Values.Select(r => r.FeaturesRepresented.ToString()).Order());
            file.Append(Row(2));
        }
        string[] lines = File.ReadAllLines(path);
        Assert.Equal(4, lines.Length);
        Assert.Equal(SweepResult.Header, lines[0]);
        Assert.Equal(Row(2).ToCsv(), lines[3]);
        Assert.Equal(3, ResultsFile.Read(path).Count);
    }

    [Fact]
    public void A_second_writer_is_refused()
    {
        string path = PathOf("shard.csv");
        using var first = ResultsFile.Open(path);
        var error = Assert.Throws<IOException>(() => ResultsFile.Open(path));
        Assert.Contains("another process", error.Message);
    }

    [Fact]
    public void Corrupt_rows_duplicates_and_foreign_files_are_reported_with_the_line()
    {
        string path = PathOf("bad.csv");
        File.WriteAllText(path, SweepResult.Header + "\n" + Row(0).ToCsv() + "\n" + Row(1).ToCsv().Replace(",adam,", ",adam,extra,") + "\n");
        Assert.Contains("line 3", Assert.Throws<InvalidDataException>(() => ResultsFile.Read(path)).Message);
        File.WriteAllText(path, SweepResult.Header + "\n" + Row(0).ToCsv() + "\n" + Row(0).ToCsv() + "\n");
        Assert.Contains("appears twice", Assert.Throws<InvalidDataException>(() => ResultsFile.Read(path)).Message);
        File.WriteAllText(path, "a,b,c\n1,2,3\n", Encoding.UTF8);
        Assert.Contains("not the results header", Assert.Throws<InvalidDataException>(() => ResultsFile.Open(path)).Message);
    }
}
