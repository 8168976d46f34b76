// Package codeshape holds one test: every function of the project's own
// (non-test, non-generated) Go code stays under 60 lines and a cyclomatic
// complexity of 20, so no function grows past what a reader can hold.
package codeshape

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const (
	maxLines      = 60
	maxComplexity = 20
)

type fn struct {
	name         string
	lines, cyclo int
}

// TestFunctionShape walks the module from its root.
func TestFunctionShape(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	var over []string
	var all []fn
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == "testdata" || n == ".git" || (strings.HasPrefix(n, ".") && n != ".." && n != ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		if ast.IsGenerated(f) {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			name := fd.Name.Name
			if fd.Recv != nil && len(fd.Recv.List) > 0 {
				name = recv(fd.Recv.List[0].Type) + "." + name
			}
			x := fn{
				name:  fmt.Sprintf("%s:%d %s", rel, fset.Position(fd.Pos()).Line, name),
				lines: fset.Position(fd.End()).Line - fset.Position(fd.Pos()).Line + 1,
				cyclo: complexity(fd),
			}
			all = append(all, x)
			if x.lines >= maxLines || x.cyclo >= maxComplexity {
				over = append(over, fmt.Sprintf("%s: %d lines, complexity %d", x.name, x.lines, x.cyclo))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].lines > all[j].lines })
	if len(all) > 0 {
		t.Logf("largest function: %s (%d lines)", all[0].name, all[0].lines)
	}
	sort.Strings(over)
	if len(over) > 0 {
		t.Errorf("%d functions at or over %d lines or complexity %d:\n%s", len(over), maxLines, maxComplexity, strings.Join(over, "\n"))
	}
}

func recv(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.StarExpr:
		return recv(x.X)
	case *ast.IndexExpr:
		return recv(x.X)
	case *ast.Ident:
		return x.Name
	}
	return "?"
}

// complexity is McCabe's: 1 plus one per branch point (if, for, case,
// clause, && and ||), as gocyclo counts it.
func complexity(fd *ast.FuncDecl) int {
	c := 1
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.IfStmt, *ast.ForStmt, *ast.RangeStmt:
			c++
		case *ast.CaseClause:
			if x.List != nil {
				c++
			}
		case *ast.CommClause:
			if x.Comm != nil {
				c++
			}
		case *ast.BinaryExpr:
			if x.Op == token.LAND || x.Op == token.LOR {
				c++
			}
		}
		return true
	})
	return c
}
