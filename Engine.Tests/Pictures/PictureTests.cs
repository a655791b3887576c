using System.Xml.Linq;
using ToyModels.Pictures;
using ToyModels.Tests.Support;

namespace ToyModels.Tests.Pictures;

public class PictureTests
{
    [Fact]
    public void Png_round_trips_every_pixel_with_valid_chunks()
    {
        int width = 7, height = 5; // ragged: rows of 21 bytes
        var rgb = new byte[width * height * 3];
        for (int k = 0; k < rgb.Length; k++) rgb[k] = (byte)(k * 37 + 11);
        var image = new PngReader(Png.Encode(width, height, rgb));
        Assert.Equal(width, image.Width);
        Assert.Equal(height, image.Height);
        Assert.Equal(rgb, image.Rgb);
    }

    [Fact]
    public void Matrix_pixels_use_the_diverging_map_symmetric_about_zero()
    {
        double[] matrix = [-2, 0, 2, 1];
        var image = new PngReader(MatrixPicture.EncodePng(matrix, 2, limit: 2, scale: 3));
        Assert.Equal(6, image.Width);
        Assert.Equal((0x05, 0x30, 0x61), image[0, 0]);       // -limit: darkest blue
        Assert.Equal((0xf7, 0xf7, 0xf7), image[5, 0]);       // 0: the middle, near white
        Assert.Equal((0x67, 0x00, 0x1f), image[0, 5]);       // +limit: darkest red
        Assert.Equal(image[3, 3], image[5, 5]);              // one 3 x 3 block per entry
    }

    [Fact]
    public void Axes_pick_round_ticks()
    {
        Assert.Equal([0.0, 0.2, 0.4, 0.6, 0.8, 1.0], Axis.LinearTicks(0, 1, 5).Select(t => Math.Round(t, 12)));
        Assert.Equal([0.001, 0.01, 0.1, 1], new Axis(0.0008, 1.3, log: true).Ticks().Select(t => Math.Round(t, 12)));
        Assert.Equal([0.02, 0.05, 0.1, 0.2], new Axis(0.015, 0.3, log: true).Ticks().Select(t => Math.Round(t, 12)));
        Assert.Equal("0.045", Axis.Label(0.045));
        Assert.Equal("2e-5", Axis.Label(2e-5));
        Assert.Equal("3e+5", Axis.Label(3e5));
    }

    [Fact]
    public void Charts_are_well_formed_svg_with_escaped_text()
    {
        var chart = new LineChart { Title = "a < b & c", XLabel = "p", YLabel = "loss", XLog = true, YLog = true };
        chart.Series.Add(new Series("m/n 0.25", "#4e79a7", [(0.01, 0.001), (0.1, 0.02), (0.5, double.NaN)]));
        chart.StyleKey.Add(new Series("theory", "#444444", [], SeriesStyle.Line, "6,4"));
        var heatmap = new GridHeatmap { Title = "D*", XLabel = "m/n", YLabel = "p" };
        heatmap.Cells[(0.25, 0.01)] = 0.3;
        heatmap.Cells[(0.5, 0.01)] = double.NaN;
        var histogram = new HistogramChart { Title = "D_i", Values = [0, 0.5, 0.5, 1, double.NaN] };
        Assert.Equal(4, histogram.Counts().Sum());
        Assert.Equal(2, histogram.Counts()[10]);
        Assert.Equal(1, histogram.Counts()[^1]); // 1.0 falls in the last bin
        foreach (var svg in new[] { chart.Render(), heatmap.Render(), histogram.Render(), MatrixPicture.Render([1, -0.5, -0.5, 1], 2, "W", 0.5) })
        {
            var document = XDocument.Parse(svg.ToString());
            Assert.Equal("svg", document.Root!.Name.LocalName);
        }
        Assert.Contains("a &lt; b &amp; c", chart.Render().ToString());
    }
}
