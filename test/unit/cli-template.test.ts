import assert from 'node:assert/strict';
import { test } from 'node:test';
import { typed } from '../../src/cli/gotypes.js';
import { networkSchema } from '../../src/cli/schemas.js';
import { renderTemplate, TemplateError } from '../../src/cli/template.js';

function network(): unknown {
  return typed(
    {
      Name: 't1',
      Id: 'abc123',
      IPAM: { Driver: 'default', Options: {}, Config: [{ Subnet: '10.20.0.0/24' }] },
      Containers: {
        b: { Name: 'c2', IPv4Address: '10.20.0.3/24' },
        a: { Name: 'c1', IPv4Address: '10.20.0.2/24' },
      },
      Options: { 'com.docker.network.bridge.name': 'br-t1' },
      Labels: null,
    },
    networkSchema,
  );
}

const r = (src: string, data: unknown = network(), missingKeyError = false) => renderTemplate(src, data, { missingKeyError });

test('fields, nesting and Go-style printing of structs and maps', () => {
  assert.equal(r('{{.Name}} {{.Id}}'), 't1 abc123');
  assert.equal(r('{{.IPAM.Config}}'), '[{10.20.0.0/24   map[]}]');
  assert.equal(r('{{.Options}}'), 'map[com.docker.network.bridge.name:br-t1]');
  assert.equal(r('{{.Labels}}'), 'map[]');
  assert.equal(r('{{.EnableIPv6}}'), 'false', 'missing struct field is its zero value');
  assert.equal(r('{{.A.B}}', { A: { B: [1, 'x', true, null] } }), '[1 x true <nil>]');
  assert.equal(r('{{.Missing}}', { A: 1 }), '<no value>');
});

test('json, index, range over maps (sorted) and slices', () => {
  assert.equal(r('{{json .Labels}}'), 'null');
  assert.equal(r('{{json .IPAM.Config}}'), '[{"Subnet":"10.20.0.0/24"}]');
  assert.equal(r('{{index .Options "com.docker.network.bridge.name"}}|{{index .Options "nope"}}|'), 'br-t1||');
  assert.equal(r('{{range .Containers}}{{.Name}} {{.IPv4Address}};{{end}}'), 'c1 10.20.0.2/24;c2 10.20.0.3/24;');
  assert.equal(r('{{range $k, $v := .Containers}}{{$k}}={{$v.Name}} {{end}}'), 'a=c1 b=c2 ');
  assert.equal(r('{{range $i, $c := .IPAM.Config}}{{$i}}:{{$c.Subnet}}{{end}}'), '0:10.20.0.0/24');
  assert.equal(r('{{range .Labels}}x{{else}}none{{end}}'), 'none');
  assert.equal(r('{{json .}}', { b: 1, a: '<&>' }), '{"b":1,"a":"<&>"}');
});

test('control flow, variables, pipes, functions and trimming', () => {
  assert.equal(r('{{if .Labels}}y{{else if .Options}}o{{else}}n{{end}}'), 'o');
  assert.equal(r('{{with .IPAM}}{{.Driver}}{{end}}'), 'default');
  assert.equal(r('{{$n := .Name}}{{range .Containers}}{{$n}}/{{.Name}} {{end}}'), 't1/c1 t1/c2 ');
  assert.equal(r('{{.Name | upper}} {{len .Containers}} {{printf "%s-%d" .Name 3}}'), 'T1 2 t1-3');
  assert.equal(r('{{join (split "a,b" ",") "+"}} {{lower "AB"}} {{title "ab cd"}} {{truncate "abcdef" 3}}'), 'a+b ab Ab Cd abc');
  assert.equal(r('{{(index .IPAM.Config 0).Subnet}}'), '10.20.0.0/24');
  assert.equal(r('a  {{- .Name -}}  b'), 'at1b');
  assert.equal(r('{{/* comment */}}x{{eq .Name "t1"}} {{not true}} {{and 1 0}} {{or 0 "z"}}'), 'xtrue false 0 z');
  assert.equal(r('{{.Label "k"}}', { Label: (k: string) => `L:${k}` }), 'L:k');
  assert.equal(r('{{.NetworkSettings.Networks.bridge.IPAddress}}', { NetworkSettings: { Networks: { bridge: { IPAddress: '1.2.3.4' } } } }), '1.2.3.4');
});

test('errors carry Go-style positions', () => {
  assert.throws(() => r('{{.Name'), /unclosed action/);
  assert.throws(() => r('{{.Foo}}', { A: 1 }, true), { message: 'template: :1:2: executing "" at <.Foo>: map has no entry for key "Foo"' });
  assert.throws(() => r('{{.Config.Foo}}', { Config: {} }, true), /:1:9: executing "" at <.Config.Foo>/);
  assert.throws(() => r('{{.Nope.X}}', {}), /nil pointer evaluating/);
  assert.throws(() => r('{{nofunc .}}'), TemplateError);
  assert.throws(() => r('{{if .Name}}x'), /unexpected EOF/);
});
