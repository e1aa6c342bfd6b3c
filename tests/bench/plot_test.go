package bench

import (
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"strings"
)

// A bar chart drawn with the standard library only: the module has no
// font package, so labels use the 5x7 capitals below (lower case is drawn
// as upper case, unknown characters as a box).

var glyphs = map[rune][7]string{
	'A': {" ### ", "#   #", "#   #", "#####", "#   #", "#   #", "#   #"},
	'B': {"#### ", "#   #", "#   #", "#### ", "#   #", "#   #", "#### "},
	'C': {" ### ", "#   #", "#    ", "#    ", "#    ", "#   #", " ### "},
	'D': {"#### ", "#   #", "#   #", "#   #", "#   #", "#   #", "#### "},
	'E': {"#####", "#    ", "#    ", "#### ", "#    ", "#    ", "#####"},
	'F': {"#####", "#    ", "#    ", "#### ", "#    ", "#    ", "#    "},
	'G': {" ### ", "#   #", "#    ", "# ###", "#   #", "#   #", " ####"},
	'H': {"#   #", "#   #", "#   #", "#####", "#   #", "#   #", "#   #"},
	'I': {" ### ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "},
	'J': {"  ###", "   # ", "   # ", "   # ", "   # ", "#  # ", " ##  "},
	'K': {"#   #", "#  # ", "# #  ", "##   ", "# #  ", "#  # ", "#   #"},
	'L': {"#    ", "#    ", "#    ", "#    ", "#    ", "#    ", "#####"},
	'M': {"#   #", "## ##", "# # #", "# # #", "#   #", "#   #", "#   #"},
	'N': {"#   #", "##  #", "# # #", "#  ##", "#   #", "#   #", "#   #"},
	'O': {" ### ", "#   #", "#   #", "#   #", "#   #", "#   #", " ### "},
	'P': {"#### ", "#   #", "#   #", "#### ", "#    ", "#    ", "#    "},
	'Q': {" ### ", "#   #", "#   #", "#   #", "# # #", "#  # ", " ## #"},
	'R': {"#### ", "#   #", "#   #", "#### ", "# #  ", "#  # ", "#   #"},
	'S': {" ####", "#    ", "#    ", " ### ", "    #", "    #", "#### "},
	'T': {"#####", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  "},
	'U': {"#   #", "#   #", "#   #", "#   #", "#   #", "#   #", " ### "},
	'V': {"#   #", "#   #", "#   #", "#   #", "#   #", " # # ", "  #  "},
	'W': {"#   #", "#   #", "#   #", "# # #", "# # #", "# # #", " # # "},
	'X': {"#   #", "#   #", " # # ", "  #  ", " # # ", "#   #", "#   #"},
	'Y': {"#   #", "#   #", " # # ", "  #  ", "  #  ", "  #  ", "  #  "},
	'Z': {"#####", "    #", "   # ", "  #  ", " #   ", "#    ", "#####"},
	'0': {" ### ", "#   #", "#  ##", "# # #", "##  #", "#   #", " ### "},
	'1': {"  #  ", " ##  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "},
	'2': {" ### ", "#   #", "    #", "   # ", "  #  ", " #   ", "#####"},
	'3': {"#####", "   # ", "  #  ", "   # ", "    #", "#   #", " ### "},
	'4': {"   # ", "  ## ", " # # ", "#  # ", "#####", "   # ", "   # "},
	'5': {"#####", "#    ", "#### ", "    #", "    #", "#   #", " ### "},
	'6': {"  ## ", " #   ", "#    ", "#### ", "#   #", "#   #", " ### "},
	'7': {"#####", "    #", "   # ", "  #  ", " #   ", " #   ", " #   "},
	'8': {" ### ", "#   #", "#   #", " ### ", "#   #", "#   #", " ### "},
	'9': {" ### ", "#   #", "#   #", " ####", "    #", "   # ", " ##  "},
	' ': {"     ", "     ", "     ", "     ", "     ", "     ", "     "},
	'.': {"     ", "     ", "     ", "     ", "     ", " ##  ", " ##  "},
	',': {"     ", "     ", "     ", "     ", " ##  ", "  #  ", " #   "},
	':': {"     ", " ##  ", " ##  ", "     ", " ##  ", " ##  ", "     "},
	'/': {"     ", "    #", "   # ", "  #  ", " #   ", "#    ", "     "},
	'-': {"     ", "     ", "     ", "#####", "     ", "     ", "     "},
	'_': {"     ", "     ", "     ", "     ", "     ", "     ", "#####"},
	'+': {"     ", "  #  ", "  #  ", "#####", "  #  ", "  #  ", "     "},
	'=': {"     ", "     ", "#####", "     ", "#####", "     ", "     "},
	'<': {"   # ", "  #  ", " #   ", "#    ", " #   ", "  #  ", "   # "},
	'>': {" #   ", "  #  ", "   # ", "    #", "   # ", "  #  ", " #   "},
	'(': {"   # ", "  #  ", " #   ", " #   ", " #   ", "  #  ", "   # "},
	')': {" #   ", "  #  ", "   # ", "   # ", "   # ", "  #  ", " #   "},
	'%': {"##   ", "##  #", "   # ", "  #  ", " #   ", "#  ##", "   ##"},
}

var unknownGlyph = [7]string{"#####", "#   #", "#   #", "#   #", "#   #", "#   #", "#####"}

const (
	glyphScale = 2
	glyphW     = 6 * glyphScale // 5 columns and a gap
	glyphH     = 7 * glyphScale
)

type canvas struct{ img *image.RGBA }

func newCanvas(w, h int) *canvas {
	c := &canvas{img: image.NewRGBA(image.Rect(0, 0, w, h))}
	c.rect(0, 0, w, h, color.RGBA{255, 255, 255, 255})
	return c
}

func (c *canvas) rect(x0, y0, x1, y1 int, col color.RGBA) {
	r := image.Rect(x0, y0, x1, y1).Intersect(c.img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c.img.SetRGBA(x, y, col)
		}
	}
}

// text draws s with its top-left corner at x, y and returns its width.
func (c *canvas) text(x, y int, s string, col color.RGBA) int {
	for i, r := range strings.ToUpper(s) {
		g, ok := glyphs[r]
		if !ok {
			g = unknownGlyph
		}
		for row, bits := range g {
			for colIdx, b := range bits {
				if b == '#' {
					px, py := x+i*glyphW+colIdx*glyphScale, y+row*glyphScale
					c.rect(px, py, px+glyphScale, py+glyphScale, col)
				}
			}
		}
	}
	return len([]rune(s)) * glyphW
}

// bar is one row of a chart: a value, drawn against a goal line.
type bar struct {
	Label string
	Value float64
	Goal  float64 // 0: no goal line
	// Better is true when a value at or above the goal meets it, false
	// when it must stay below (memory).
	AtLeast bool
	Text    string // printed at the bar's end
}

type panel struct {
	Title string
	Bars  []bar
}

var (
	ink     = color.RGBA{30, 30, 30, 255}
	grey    = color.RGBA{200, 200, 200, 255}
	good    = color.RGBA{46, 139, 87, 255}
	bad     = color.RGBA{205, 92, 92, 255}
	neutral = color.RGBA{70, 130, 180, 255}
)

// plot draws panels of horizontal bars, each panel scaled to its largest
// value or goal, goals as vertical black lines, bars green when they meet
// their goal and red when they do not.
func plot(w io.Writer, title string, panels []panel) error {
	const (
		width   = 1400
		margin  = 20
		labelW  = 44 * glyphW
		rowH    = glyphH + 14
		barArea = width - 2*margin - labelW - 16*glyphW
	)
	height := margin + glyphH + 20
	for _, p := range panels {
		height += glyphH + 12 + len(p.Bars)*rowH + 20
	}
	c := newCanvas(width, height+margin)
	c.text(margin, margin, title, ink)
	y := margin + glyphH + 20
	for _, p := range panels {
		c.text(margin, y, p.Title, ink)
		y += glyphH + 12
		scale := 0.0
		for _, b := range p.Bars {
			scale = math.Max(scale, math.Max(b.Value, b.Goal))
		}
		if scale <= 0 || math.IsNaN(scale) {
			scale = 1
		}
		x0 := margin + labelW
		for _, b := range p.Bars {
			c.text(margin, y+7, b.Label, ink)
			c.rect(x0, y+2, x0+barArea, y+rowH-2, color.RGBA{245, 245, 245, 255})
			col := neutral
			if b.Goal > 0 {
				if (b.AtLeast && b.Value >= b.Goal) || (!b.AtLeast && b.Value < b.Goal) {
					col = good
				} else {
					col = bad
				}
			}
			bw := 0
			if !math.IsNaN(b.Value) && b.Value > 0 {
				bw = int(float64(barArea) * b.Value / scale)
			}
			c.rect(x0, y+4, x0+bw, y+rowH-4, col)
			if b.Goal > 0 {
				gx := x0 + int(float64(barArea)*b.Goal/scale)
				c.rect(gx-1, y, gx+2, y+rowH, ink)
			}
			c.text(x0+barArea+glyphW, y+7, b.Text, ink)
			y += rowH
		}
		c.rect(margin, y+8, width-margin, y+10, grey)
		y += 20
	}
	return png.Encode(w, c.img)
}
