"""Conformance checks of what a provider keeps for itself (mixed into the
backends of :mod:`test.integration.test_provider_conformance`).

* Reserved metadata (``X-Object-Meta-Swift-S3-Sync-*``) is refused by
  check() and check_metadata() on every remote, naming the header.
* A name the remote cannot hold is simply not there: head, get and delete
  answer without a request (proved with a provider whose endpoint is a
  closed port), and check refuses it.
* S3 only: with a custom prefix the keys of saved manifests cannot be
  reached as objects, and a manifest is only read for an object marked as
  an SLO.
"""
import hashlib
import io
import json

from swift_s3_sync.providers.base import LocalObject, RemoteError

HEADERS = ('X-Object-Meta-Swift-S3-Sync-Timestamp',
           'X-Object-Meta-Swift-S3-Sync-Etag',
           'X-Object-Meta-Swift-S3-Sync-Large')
DEAD_ENDPOINT = 'http://127.0.0.1:1'   # nothing listens: any request fails


def plain(name, body):
    """A plain local object with no metadata."""
    return LocalObject('c', name, {'content-type': 'text/plain'}, len(body),
                       hashlib.md5(body).hexdigest(), '1700000000.00000',
                       lambda: io.BytesIO(body))


def manifest_name(name):
    """The object name whose key under a custom prefix is ``name``'s
    saved manifest."""
    return '.manifests/%s.swift_slo_manifest' % hashlib.sha256(
        name.encode('utf-8')).hexdigest()


class ReservedNamesContract(object):
    """Every backend (the test case gives ``provider`` and
    ``make_provider``)."""

    def test_reserved_metadata_refused(self):
        for header in HEADERS:
            local = plain('r', b'x')
            local.headers[header.lower()] = 'slo'
            for check in (self.provider.check, self.provider.check_metadata):
                with self.assertRaises(RemoteError) as caught:
                    check(local)
                self.assertTrue(caught.exception.permanent)
                self.assertEqual('%s is reserved for swift-s3-sync' % header,
                                 str(caught.exception))

    def test_names_the_store_cannot_hold_are_not_there(self):
        name = 'n' * 1100
        for provider in (self.provider,
                         self.make_provider(aws_endpoint=DEAD_ENDPOINT)):
            self.assertIsNone(provider.head('c', name))
            status, _, body = provider.get('c', name)
            self.assertEqual((404, b''), (status, b''.join(body)))
            self.assertFalse(provider.delete('c', name))
            with self.assertRaises(RemoteError) as caught:
                provider.check(plain(name, b'x'))
            self.assertTrue(caught.exception.permanent)
            self.assertIn('1024', str(caught.exception))


class SavedManifestContract(object):
    """S3 backends: saved SLO manifests beside their objects (the test
    case gives ``make_provider``, ``put``, ``large``, ``s3`` and
    ``bucket``)."""

    def slo_with_manifest(self, provider, name):
        local, data = self.large(name, [1024, 1024])
        local.manifest = json.dumps([{'name': '/c_segments/%s' % s.name,
                                      'bytes': s.size, 'hash': s.etag}
                                     for s in local.segments])
        self.put(local, provider)
        return local

    def test_manifest_keys_are_no_object_names(self):
        for prefix in ('p', ''):
            provider = self.make_provider(custom_prefix=prefix)
            victim = self.slo_with_manifest(provider, 'victim-' + prefix)
            name = manifest_name(victim.name)
            self.assertIn(name, provider.manifest_key('c', victim.name))
            with self.assertRaises(RemoteError) as caught:
                provider.check(plain(name, b'[]'))
            self.assertTrue(caught.exception.permanent)
            self.assertIn('.manifests/', str(caught.exception))
            with self.assertRaises(RemoteError):
                provider.put(plain(name, b'[]'))
            self.assertIsNone(provider.head('c', name))
            self.assertEqual(404, provider.get('c', name)[0])
            self.assertFalse(provider.delete('c', name))
            # The victim's manifest is untouched and still its own.
            self.assertEqual(victim.manifest,
                             provider.get_manifest('c', victim.name))
            self.assertNotIn(name, [o.name for o in provider.list('c')])

    def test_manifest_only_for_objects_marked_large(self):
        provider = self.make_provider(custom_prefix='p')
        self.put(plain('plain', b'plain bytes'), provider)
        # A manifest left at the plain object's manifest key (by an older
        # version that let clients write such names, or a stale one).
        self.s3.put_object(Bucket=self.bucket,
                           Key=provider.manifest_key('c', 'plain'),
                           Body=b'[{"name": "/c/victim"}]')
        self.assertIsNone(provider.get_manifest('c', 'plain'))
        self.assertIsNone(provider.get_manifest('c', 'missing'))
        large = self.slo_with_manifest(provider, 'large')
        self.assertEqual(large.manifest,
                         provider.get_manifest('c', 'large'))
