import type { IncomingMessage, ServerResponse } from 'node:http';
import { Controller, Get, NotFoundException, Param, Req, Res } from '@nestjs/common';
import { ExplorerAssets } from './explorer-assets';

/** GET /explorer/<file>: the explorer's bundled scripts, styles, fonts and workers. */
@Controller('explorer')
export class ExplorerController {
  constructor(private readonly assets: ExplorerAssets) {}

  @Get(':file')
  serve(@Param('file') name: string, @Req() req: IncomingMessage, @Res() res: ServerResponse): void {
    const asset = this.assets.get(name);
    if (!asset) throw new NotFoundException(`No explorer file ${name}: run \`npm run build\` if the explorer is missing`);
    res.setHeader('Content-Type', asset.contentType);
    res.setHeader('ETag', asset.etag);
    // Names do not change between builds: browsers revalidate, and a 304 costs nothing.
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Vary', 'Accept-Encoding');
    if (req.headers['if-none-match'] === asset.etag) {
      res.statusCode = 304;
      res.end();
      return;
    }
    const gzip = asset.gzipped && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    if (gzip) res.setHeader('Content-Encoding', 'gzip');
    const body = gzip && asset.gzipped ? asset.gzipped : asset.body;
    res.setHeader('Content-Length', body.length);
    res.statusCode = 200;
    res.end(body);
  }
}
