from setuptools import find_packages, setup

setup(
    name='swift-s3-sync',
    version='0.2.0',
    description='Keep OpenStack Swift containers in step with S3, '
                'S3-compatible stores and other Swift clusters',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.9',
    packages=find_packages(exclude=['test', 'test.*']),
    install_requires=[
        'swift>=2.38,<2.39',
        'eventlet>=0.33',
        'boto3>=1.28,<2',
        'python-swiftclient>=4.4,<5',
        'PasteDeploy>=3.0',
    ],
    extras_require={
        'test': ['nose2>=0.14', 'moto[server]>=5.0,<6'],
    },
    entry_points={
        'console_scripts': [
            'swift-s3-sync = swift_s3_sync.daemon:main',
            'swift-s3-sync-status = swift_s3_sync.status:main',
            'swift-s3-sync-audit = swift_s3_sync.audit:main',
            'swift-s3-migrator = swift_s3_sync.migrator.daemon:main',
            'swift-s3-sync-verify = swift_s3_sync.verify:main',
            'proxymc = proxymc.server:main',
        ],
        'paste.app_factory': [
            'proxymc = proxymc.app:app_factory',
        ],
        'paste.filter_factory': [
            'cloud-shunt = swift_s3_sync.shunt:filter_factory',
        ],
    },
    classifiers=[
        'Programming Language :: Python :: 3',
        'Environment :: OpenStack',
    ],
)
