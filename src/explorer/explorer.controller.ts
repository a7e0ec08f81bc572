import { Controller, Get, NotFoundException, Param, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ExplorerAssets } from './explorer-assets';

/** GET /explorer/<file>: the explorer's bundled scripts, styles, fonts and workers. */
@Controller('explorer')
export class ExplorerController {
  constructor(private readonly assets: ExplorerAssets) {}

  @Get(':file')
  serve(@Param('file') name: string, @Req() req: FastifyRequest, @Res() reply: FastifyReply): void {
    const asset = this.assets.get(name);
    if (!asset) throw new NotFoundException(`No explorer file ${name}: run \`npm run build\` if the explorer is missing`);
    void reply.header('content-type', asset.contentType);
    void reply.header('etag', asset.etag);
    // Names do not change between builds: browsers revalidate, and a 304 costs nothing.
    void reply.header('cache-control', 'no-cache');
    void reply.header('x-content-type-options', 'nosniff');
    void reply.header('vary', 'Accept-Encoding');
    if (req.headers['if-none-match'] === asset.etag) {
      void reply.code(304).send();
      return;
    }
    const gzip = asset.gzipped && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    if (gzip) void reply.header('content-encoding', 'gzip');
    void reply.code(200).send(gzip && asset.gzipped ? asset.gzipped : asset.body);
  }
}
